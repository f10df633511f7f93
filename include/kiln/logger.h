// kiln — logging through an application-supplied Logger.
// Thread-safety: kiln may call log() from several threads at once; implementations must be
// thread-safe. The default logger is.
#pragma once

#include <string_view>

namespace kiln {

enum class Severity : int { kError = 0, kWarning = 1, kInfo = 2, kVerbose = 3 };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(Severity severity, std::string_view message) = 0;
};

// Prints messages at or above `min_severity` ("at or above" = numerically <=) to stderr.
class StderrLogger final : public Logger {
 public:
  explicit StderrLogger(Severity min_severity = Severity::kWarning) : min_(min_severity) {}
  void log(Severity severity, std::string_view message) override;
  void set_min_severity(Severity s) { min_ = s; }

 private:
  Severity min_;
};

// The process-wide default (a StderrLogger printing warnings and errors).
Logger& default_logger();

}  // namespace kiln
