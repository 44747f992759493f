#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "api/access_log/access_log.h"

namespace proxy::access_log {

enum class AccessLogFormat { kText, kJson };

// Turns one request or connection into one access-log line (no trailing newline).
//
// text: fields separated by one space, in this order (config/README.md):
//   time listener client "method path protocol" status route cluster upstream
//   bytes_received bytes_sent duration_ms upstream_headers_ms failure
// A missing value is "-"; a value holding a space, a quote, a backslash or a control byte is
// quoted with those escaped. A TCP connection's request field is "TCP", its status, route and
// upstream_headers_ms are "-".
// json: one object per line with the same fields by name ("type": "http" or "tcp"); absent
// numbers are null, absent strings "".
class AccessLogFormatter {
 public:
  explicit AccessLogFormatter(AccessLogFormat format) : format_(format) {}

  // `end` is on the steady clock of info.start_time; `wall_end` is the same instant on the
  // system clock, from which the line's start time is derived.
  std::string format(std::string_view listener, const network::Address& client,
                     const RequestLine& request, const http::StreamInfo& info,
                     std::chrono::steady_clock::time_point end,
                     std::chrono::system_clock::time_point wall_end) const;
  std::string format(std::string_view listener, const network::Address& client,
                     const network::ConnectionInfo& info, std::chrono::steady_clock::time_point end,
                     std::chrono::system_clock::time_point wall_end) const;

  // The failure in the shared vocabulary: "" for none, "request_rejected:<reason>" for a
  // rejection with a reason.
  static std::string failureName(const http::StreamInfo& info);
  static std::string failureName(const network::ConnectionInfo& info);

 private:
  const AccessLogFormat format_;
};

}  // namespace proxy::access_log
