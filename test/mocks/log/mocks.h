#pragma once

#include <gmock/gmock.h>

#include <string>
#include <vector>

#include "api/log/logger.h"

namespace proxy::log {

// enabled() is true for every level by default; log() records each line in lines_ (as
// "LEVEL message", LEVEL one of debug/info/warn/error) besides being a mock.
class MockLogger : public Logger {
 public:
  MockLogger();
  ~MockLogger() override;

  // log::Logger
  MOCK_METHOD(bool, enabled, (Level level), (const, override));
  MOCK_METHOD(void, log, (Level level, std::string_view message), (override));

  std::vector<std::string> lines_;
};

}  // namespace proxy::log
