#pragma once

#include <string_view>

#include "api/log/logger.h"

namespace Poco {
class Logger;
}

namespace proxy::log {

// log::Logger over a Poco::Logger (the process's "proxy" logger, whose AsyncChannel writes
// from a thread of its own). Thread-safe as Poco::Logger is.
class PocoLogger final : public Logger {
 public:
  explicit PocoLogger(Poco::Logger& logger) : logger_(logger) {}

  // log::Logger
  bool enabled(Level level) const override;
  void log(Level level, std::string_view message) override;

 private:
  Poco::Logger& logger_;
};

}  // namespace proxy::log
