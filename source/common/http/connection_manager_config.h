#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

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
  // Bytes queued toward the client before the producer (the router) is told to pause.
  uint32_t buffer_limit = 1024 * 1024;
  // Codec rejections by reason word; "other" takes reasons not listed.
  std::map<std::string, stats::Counter*, std::less<>> rejections;
};

using ConnectionManagerConfigConstSharedPtr = std::shared_ptr<const ConnectionManagerConfig>;

}  // namespace proxy::http
