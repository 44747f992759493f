#include "common/log/timeout_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/network/socket_util.h"
#include "test/mocks/log/mocks.h"

using testing::_;
using testing::NiceMock;
using testing::Return;

namespace proxy::log {
namespace {

TEST(TimeoutLogTest, DurationsAreWrittenAsInConfig) {
  EXPECT_EQ("10s", formatDuration(std::chrono::milliseconds(10000)));
  EXPECT_EQ("200ms", formatDuration(std::chrono::milliseconds(200)));
  EXPECT_EQ("1m30s", formatDuration(std::chrono::milliseconds(90000)));
  EXPECT_EQ("5m", formatDuration(std::chrono::milliseconds(300000)));
  EXPECT_EQ("0s", formatDuration(std::chrono::milliseconds(0)));
}

TEST(TimeoutLogTest, OneInfoLineNamingTheTimeout) {
  NiceMock<MockLogger> logger;
  logTimeout(logger, "request_headers_timeout", std::chrono::seconds(10), "web",
             network::resolveAddresses("127.0.0.1", 5555).at(0));
  EXPECT_EQ(std::vector<std::string>{"info timeout request_headers_timeout (10s) fired: listener "
                                     "web client 127.0.0.1:5555"},
            logger.lines_);
}

TEST(TimeoutLogTest, NothingIsBuiltWhenInfoIsOff) {
  NiceMock<MockLogger> logger;
  ON_CALL(logger, enabled(_)).WillByDefault(Return(false));
  EXPECT_CALL(logger, log(_, _)).Times(0);
  logTimeout(logger, "idle_timeout", std::chrono::seconds(60), "web", network::Address());
}

}  // namespace
}  // namespace proxy::log
