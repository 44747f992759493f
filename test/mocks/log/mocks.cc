#include "test/mocks/log/mocks.h"

using testing::_;
using testing::Return;

namespace proxy::log {
namespace {

const char* levelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "?";
}

}  // namespace

MockLogger::MockLogger() {
  ON_CALL(*this, enabled(_)).WillByDefault(Return(true));
  ON_CALL(*this, log(_, _)).WillByDefault([this](Level level, std::string_view message) {
    lines_.push_back(std::string(levelName(level)) + " " + std::string(message));
  });
}

MockLogger::~MockLogger() = default;

}  // namespace proxy::log
