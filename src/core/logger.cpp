#include <kiln/logger.h>
#include <kiln/version.h>

#include <cstdio>
#include <mutex>
#include <string>

namespace kiln {

void StderrLogger::log(Severity severity, std::string_view message) {
  if (static_cast<int>(severity) > static_cast<int>(min_)) return;
  static std::mutex mu;
  static const char* const kTags[] = {"E", "W", "I", "V"};
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr, "[kiln %s] %.*s\n", kTags[static_cast<int>(severity)],
               static_cast<int>(message.size()), message.data());
}

Logger& default_logger() {
  static StderrLogger logger;
  return logger;
}

const char* version_string() {
  static const std::string s = std::to_string(kVersionMajor) + "." + std::to_string(kVersionMinor) +
                               "." + std::to_string(kVersionPatch);
  return s.c_str();
}

}  // namespace kiln
