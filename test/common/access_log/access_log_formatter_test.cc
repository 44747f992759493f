#include "common/access_log/access_log_formatter.h"

#include <gtest/gtest.h>

#include "common/network/socket_util.h"

namespace proxy::access_log {
namespace {

using std::chrono::milliseconds;

class AccessLogFormatterTest : public testing::Test {
 protected:
  AccessLogFormatterTest() {
    client_ = network::resolveAddresses("127.0.0.1", 5555).at(0);
    info_.start_time = std::chrono::steady_clock::time_point(std::chrono::hours(1));
    end_ = info_.start_time + std::chrono::microseconds(12345);
    // 2026-01-02T03:04:05.678Z plus the request's 12.345 ms.
    wall_end_ = std::chrono::system_clock::time_point(milliseconds(1767323045678LL)) +
                std::chrono::microseconds(12345);
    info_.route_name = "users";
    info_.cluster_name = "backend";
    info_.upstream_address = network::resolveAddresses("127.0.0.1", 8080).at(0);
    info_.response_code = 200;
    info_.request_body_bytes = 3;
    info_.response_body_bytes = 512;
    info_.response_headers_time = info_.start_time + std::chrono::microseconds(2500);
  }

  network::Address client_;
  http::StreamInfo info_;
  std::chrono::steady_clock::time_point end_;
  std::chrono::system_clock::time_point wall_end_;
};

TEST_F(AccessLogFormatterTest, TextLineHasEveryFieldInOrder) {
  AccessLogFormatter text(AccessLogFormat::kText);
  EXPECT_EQ(
      "2026-01-02T03:04:05.678Z web 127.0.0.1:5555 \"GET /a?b=1 HTTP/1.1\" 200 users backend "
      "127.0.0.1:8080 3 512 12.345 2.500 -",
      text.format("web", client_, {"GET", "/a?b=1", "HTTP/1.1"}, info_, end_, wall_end_));
}

TEST_F(AccessLogFormatterTest, TextLineQuotesValuesWithSpacesAndEscapes) {
  AccessLogFormatter text(AccessLogFormat::kText);
  info_.route_name = "my route";
  info_.response_code = 0;
  info_.response_headers_time = {};
  info_.failure = http::RequestFailure::kClientReset;
  std::string line =
      text.format("web", client_, {"GET", "/q\"x\\\x01", "HTTP/1.1"}, info_, end_, wall_end_);
  EXPECT_EQ(
      "2026-01-02T03:04:05.678Z web 127.0.0.1:5555 \"GET /q\\\"x\\\\\\x01 HTTP/1.1\" - "
      "\"my route\" backend 127.0.0.1:8080 3 512 12.345 - client_reset",
      line);
}

TEST_F(AccessLogFormatterTest, RejectionWithoutARequestLine) {
  AccessLogFormatter text(AccessLogFormat::kText);
  http::StreamInfo info;
  info.start_time = info_.start_time;
  info.response_code = 400;
  info.failure = http::RequestFailure::kRequestRejected;
  info.rejection = "malformed";
  EXPECT_EQ(
      "2026-01-02T03:04:05.678Z web 127.0.0.1:5555 \"-\" 400 - - - 0 0 12.345 - "
      "request_rejected:malformed",
      text.format("web", client_, {}, info, end_, wall_end_));
}

TEST_F(AccessLogFormatterTest, JsonLineNamesEveryField) {
  AccessLogFormatter json(AccessLogFormat::kJson);
  info_.failure = http::RequestFailure::kUpstreamResponseTimeout;
  EXPECT_EQ(
      "{\"time\":\"2026-01-02T03:04:05.678Z\",\"type\":\"http\",\"listener\":\"web\","
      "\"client\":\"127.0.0.1:5555\",\"method\":\"GET\",\"path\":\"/a\",\"protocol\":"
      "\"HTTP/1.1\",\"status\":200,\"route\":\"users\",\"cluster\":\"backend\",\"upstream\":"
      "\"127.0.0.1:8080\",\"bytes_received\":3,\"bytes_sent\":512,\"duration_ms\":12.345,"
      "\"upstream_headers_ms\":2.500,\"failure\":\"upstream_response_timeout\"}",
      json.format("web", client_, {"GET", "/a", "HTTP/1.1"}, info_, end_, wall_end_));
}

TEST_F(AccessLogFormatterTest, JsonEscapesQuotesControlsAndInvalidUtf8) {
  AccessLogFormatter json(AccessLogFormat::kJson);
  info_.response_code = 0;
  info_.response_headers_time = {};
  info_.route_name = "caf\xc3\xa9";  // valid UTF-8 stays as it is
  std::string line =
      json.format("web", client_, {"GET", "/\"\\\n\xff", "HTTP/1.1"}, info_, end_, wall_end_);
  EXPECT_NE(std::string::npos, line.find("\"path\":\"/\\\"\\\\\\u000a\\ufffd\""));
  EXPECT_NE(std::string::npos, line.find("\"status\":null"));
  EXPECT_NE(std::string::npos, line.find("\"upstream_headers_ms\":null"));
  EXPECT_NE(std::string::npos, line.find("\"route\":\"caf\xc3\xa9\""));
  EXPECT_NE(std::string::npos, line.find("\"failure\":\"\""));
}

TEST_F(AccessLogFormatterTest, TcpConnectionLine) {
  network::ConnectionInfo info;
  info.start_time = info_.start_time;
  info.bytes_received = 10;
  info.bytes_sent = 20;
  info.upstream_cluster = "tcp_backend";
  info.upstream_address = info_.upstream_address;
  info.failure = network::FailureCause::kUpstreamConnectRefused;
  AccessLogFormatter text(AccessLogFormat::kText);
  EXPECT_EQ(
      "2026-01-02T03:04:05.678Z tcp 127.0.0.1:5555 \"TCP\" - - tcp_backend 127.0.0.1:8080 10 "
      "20 12.345 - upstream_connect_refused",
      text.format("tcp", client_, info, end_, wall_end_));
  AccessLogFormatter json(AccessLogFormat::kJson);
  std::string line = json.format("tcp", client_, info, end_, wall_end_);
  EXPECT_NE(std::string::npos, line.find("\"type\":\"tcp\""));
  EXPECT_NE(std::string::npos, line.find("\"protocol\":\"TCP\""));
  EXPECT_NE(std::string::npos, line.find("\"failure\":\"upstream_connect_refused\""));
}

TEST(AccessLogFailureNameTest, UsesTheSharedVocabulary) {
  http::StreamInfo info;
  EXPECT_EQ("", AccessLogFormatter::failureName(info));
  info.failure = http::RequestFailure::kNoRoute;
  EXPECT_EQ("no_route", AccessLogFormatter::failureName(info));
  info.failure = http::RequestFailure::kRequestRejected;
  info.rejection = "header_too_large";
  EXPECT_EQ("request_rejected:header_too_large", AccessLogFormatter::failureName(info));
  network::ConnectionInfo connection;
  connection.failure = network::FailureCause::kIdleTimeout;
  EXPECT_EQ("idle_timeout", AccessLogFormatter::failureName(connection));
}

}  // namespace
}  // namespace proxy::access_log
