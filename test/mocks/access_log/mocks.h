#pragma once

#include <gmock/gmock.h>

#include <string>
#include <vector>

#include "api/access_log/access_log.h"

namespace proxy::access_log {

// What one log() call was given, copied (the originals die with the stream).
struct LoggedRequest {
  std::string listener;
  network::Address client;
  std::string method;
  std::string path;
  std::string protocol;
  http::StreamInfo info;
};
struct LoggedConnection {
  std::string listener;
  network::Address client;
  network::ConnectionInfo info;
};

// Both log() overloads are mocks whose default action appends a copy to requests_ or
// connections_, so a test can assert on what a filter logged.
class MockAccessLogSink : public AccessLogSink {
 public:
  MockAccessLogSink();
  ~MockAccessLogSink() override;

  // access_log::AccessLogSink
  MOCK_METHOD(void, log,
              (std::string_view listener, const network::Address& client,
               const RequestLine& request, const http::StreamInfo& info,
               std::chrono::steady_clock::time_point end),
              (override));
  MOCK_METHOD(void, log,
              (std::string_view listener, const network::Address& client,
               const network::ConnectionInfo& info, std::chrono::steady_clock::time_point end),
              (override));

  std::vector<LoggedRequest> requests_;
  std::vector<LoggedConnection> connections_;
};

}  // namespace proxy::access_log
