#pragma once

#include <string_view>

namespace proxy::log {

// How severe a log line is; the configured `log_level` decides which are written.
enum class Level { kDebug, kInfo, kWarn, kError };

// The process's log, for filters and the code they use (which cannot reach POCO through the
// layers). Thread-safe: any worker may log; lines are written by a thread of their own, so
// log() never waits for I/O.
class Logger {
 public:
  virtual ~Logger() = default;
  // Whether a line of this level would be written; lets callers skip building it.
  virtual bool enabled(Level level) const = 0;
  // Writes one line (without trailing newline) at this level, if enabled.
  virtual void log(Level level, std::string_view message) = 0;
};

}  // namespace proxy::log
