#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/access_log/access_log.h"
#include "api/log/logger.h"
#include "api/network/connection.h"
#include "api/registry/filter_factory.h"
#include "api/stats/stats.h"
#include "common/http/codec.h"
#include "common/stats/filter_counters.h"

namespace proxy::http {

// The immutable settings of one HTTP listener, shared by its connections.
struct ConnectionManagerConfig {
  std::vector<registry::HttpFilterFactoryCb> filter_factories;
  // What the stream counts for each of filter_factories' filters, same index.
  std::vector<stats::FilterCounters> filter_counters;
  CodecLimits limits;
  // A request's line and headers must arrive within this after its first byte.
  std::chrono::milliseconds request_headers_timeout{10000};
  // A keep-alive connection with no request in flight is closed after this.
  std::chrono::milliseconds idle_timeout{60000};
  // A request in flight with no byte either way for this long is ended (504 before the
  // response, else the connection is closed); zero disables it.
  std::chrono::milliseconds stream_idle_timeout{300000};
  // How long a connection closing after a flush (Connection: close, a timeout, a drain) waits
  // for the client to take the queued bytes before it is closed hard; zero waits forever.
  std::chrono::milliseconds delayed_close_timeout{network::kDefaultDelayedCloseTimeout};
  // request_body_min_rate: a request body arriving slower than this many bytes per second,
  // measured over each request_body_min_rate_window, ends the stream (408, or a reset once
  // the response started). Zero (the default) turns the check off.
  uint64_t request_body_min_bytes_per_second = 0;
  std::chrono::milliseconds request_body_min_rate_window{10000};
  // For timeout log lines and the access log.
  std::string listener_name;
  log::Logger* logger = nullptr;
  // Null when the access log is off.
  access_log::AccessLogSinkSharedPtr access_log;
  // Bytes queued toward the client before the producer (the router) is told to pause.
  uint32_t buffer_limit = 1024 * 1024;
  // Codec rejections by reason word; "other" takes reasons not listed.
  std::map<std::string, stats::Counter*, std::less<>> rejections;
};

using ConnectionManagerConfigConstSharedPtr = std::shared_ptr<const ConnectionManagerConfig>;

}  // namespace proxy::http
