#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "api/http/filter.h"
#include "api/stats/stats.h"

namespace proxy::filters::http_stats {

// What one listener's HTTP `stats` filters share. The labelled handles depend on the
// route, cluster and status of each request, so they are made on first use and cached per
// worker; everything else is made at config time.
class StatsConfig {
 public:
  StatsConfig(stats::Scope& scope, std::string listener, std::vector<double> buckets);

  // Records one finished request.
  void record(const http::StreamInfo& info, double seconds) const;

 public:
  struct Handles {
    stats::Counter* requests;
    stats::Histogram* duration;
  };

 private:
  Handles& handlesFor(const std::string& route, const std::string& cluster,
                      const char* status_class) const;

  const uint64_t id_;  // unique for the process's life: the per-worker cache's key
  stats::Scope& scope_;
  const std::string listener_;
  const std::vector<double> buckets_;
  stats::Counter& legacy_total_;
  stats::Counter& duration_microseconds_;
  stats::Counter& answered_;
  // proxy_http_request_failures_total{listener, cause}, by RequestFailure; made at config
  // time since the causes are a fixed list. [kNone] stays null.
  std::array<stats::Counter*, static_cast<size_t>(http::RequestFailure::kRequestRejected) + 1>
      failures_{};
};

using StatsConfigConstSharedPtr = std::shared_ptr<const StatsConfig>;

// Counts every request of the listener when its stream ends: the Go program's
// http_request_total_count and http_request_time_avg_milliseconds, and labelled families
// by route, cluster and status class.
class StatsFilter final : public http::StreamFilter {
 public:
  explicit StatsFilter(StatsConfigConstSharedPtr config) : config_(std::move(config)) {}

  // http::StreamDecoderFilter
  void setDecoderFilterCallbacks(http::StreamDecoderFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  http::FilterHeadersStatus decodeHeaders(http::RequestHeaderMap&, bool) override {
    return http::FilterHeadersStatus::kContinue;
  }
  http::FilterDataStatus decodeData(buffer::Instance&, bool) override {
    return http::FilterDataStatus::kContinue;
  }
  http::FilterTrailersStatus decodeTrailers(http::HeaderMap&) override {
    return http::FilterTrailersStatus::kContinue;
  }

  // http::StreamEncoderFilter
  void setEncoderFilterCallbacks(http::StreamEncoderFilterCallbacks&) override {}
  http::FilterHeadersStatus encodeHeaders(http::ResponseHeaderMap&, bool) override {
    return http::FilterHeadersStatus::kContinue;
  }
  http::FilterDataStatus encodeData(buffer::Instance&, bool) override {
    return http::FilterDataStatus::kContinue;
  }
  http::FilterTrailersStatus encodeTrailers(http::HeaderMap&) override {
    return http::FilterTrailersStatus::kContinue;
  }

  void onDestroy() override;

 private:
  const StatsConfigConstSharedPtr config_;
  http::StreamDecoderFilterCallbacks* callbacks_ = nullptr;
};

}  // namespace proxy::filters::http_stats
