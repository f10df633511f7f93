// Wall time of consecutive phases of a long operation (the build, the passes, the CLI's build
// command), summed by name and printed in first-seen order: "passes 12.3 ms, tuning 4.5 ms".
// For the verbose log, which says where a build's time goes. Not thread-safe (one owner).
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace kiln {

class PhaseTimer {
 public:
  PhaseTimer() : last_(Clock::now()) {}

  // Ends the current phase, naming it, and starts the next one.
  void lap(const char* phase) {
    const auto now = Clock::now();
    const double ms = std::chrono::duration<double, std::milli>(now - last_).count();
    last_ = now;
    add(phase, ms);
  }
  // Moves `ms` of phase `from` to phase `to` (added after the others if new): for a part of a
  // phase that is timed inside it, such as the writes of a serializer that streams its output.
  void transfer(const char* from, const char* to, double ms) {
    add(from, -ms);
    add(to, ms);
  }
  // Starts the next phase without counting the time since the last lap.
  void skip() { last_ = Clock::now(); }

  std::string summary() const {
    std::string s;
    for (const auto& [name, ms] : phases_) {
      char buf[48];
      std::snprintf(buf, sizeof buf, " %.1f ms", ms);
      s += (s.empty() ? "" : ", ") + name + buf;
    }
    return s;
  }

 private:
  void add(const char* phase, double ms) {
    for (auto& [name, total] : phases_) {
      if (name == phase) {
        total += ms;
        return;
      }
    }
    phases_.emplace_back(phase, ms);
  }
  using Clock = std::chrono::steady_clock;
  Clock::time_point last_;
  std::vector<std::pair<std::string, double>> phases_;
};

}  // namespace kiln
