#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "api/http/stream_info.h"
#include "api/network/address.h"
#include "api/network/connection_info.h"

namespace proxy::access_log {

// The request line as the client sent it (before any router rewrote the path). Empty views
// when the request was refused before its line was parsed.
struct RequestLine {
  std::string_view method;
  std::string_view path;      // as received, query included
  std::string_view protocol;  // "HTTP/1.1", "HTTP/1.0"
};

// Where access-log lines go: one line per HTTP request and one per TCP connection
// (docs/behaviour.md §3). Thread-safe; called on a worker when the request or connection ends. A
// sink formats the line on the calling thread and hands it to a writer thread, so it never
// blocks on I/O. Shared by the filter configs that log to it.
class AccessLogSink {
 public:
  virtual ~AccessLogSink() = default;

  // One HTTP request has ended (answered, refused or reset). `info` is final; `end` is the
  // dispatcher's time now, the same clock as info.start_time.
  virtual void log(std::string_view listener, const network::Address& client,
                   const RequestLine& request, const http::StreamInfo& info,
                   std::chrono::steady_clock::time_point end) = 0;

  // One TCP connection (a listener whose chain ends in tcp_proxy) has closed.
  virtual void log(std::string_view listener, const network::Address& client,
                   const network::ConnectionInfo& info,
                   std::chrono::steady_clock::time_point end) = 0;
};

using AccessLogSinkSharedPtr = std::shared_ptr<AccessLogSink>;

}  // namespace proxy::access_log
