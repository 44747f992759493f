#include "common/log/poco_logger.h"

#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <string>

namespace proxy::log {
namespace {

Poco::Message::Priority priorityOf(Level level) {
  switch (level) {
    case Level::kDebug:
      return Poco::Message::PRIO_DEBUG;
    case Level::kInfo:
      return Poco::Message::PRIO_INFORMATION;
    case Level::kWarn:
      return Poco::Message::PRIO_WARNING;
    case Level::kError:
      return Poco::Message::PRIO_ERROR;
  }
  return Poco::Message::PRIO_ERROR;
}

}  // namespace

bool PocoLogger::enabled(Level level) const { return logger_.is(priorityOf(level)); }

void PocoLogger::log(Level level, std::string_view message) {
  Poco::Message::Priority priority = priorityOf(level);
  if (logger_.is(priority)) {
    logger_.log(Poco::Message(logger_.name(), std::string(message), priority));
  }
}

}  // namespace proxy::log
