#pragma once

#include <memory>

#include "api/http/filter.h"
#include "header_rules.h"

namespace proxy::plugins::header_rewrite {

// One `header_rewrite` filter's rules, built once at config time and shared read-only by
// every stream on every worker.
struct HeaderRewriteConfig {
  HeaderRules request;
  HeaderRules response;
};

using HeaderRewriteConfigConstSharedPtr = std::shared_ptr<const HeaderRewriteConfig>;

// Edits request headers on their way to the upstream and response headers on their way to
// the client. Headers only: body bytes and trailers pass untouched, and nothing is held, so
// the filter never stops iteration.
class HeaderRewriteFilter final : public http::StreamFilter {
 public:
  explicit HeaderRewriteFilter(HeaderRewriteConfigConstSharedPtr config)
      : config_(std::move(config)) {}

  // http::StreamDecoderFilter
  void setDecoderFilterCallbacks(http::StreamDecoderFilterCallbacks&) override {}
  http::FilterHeadersStatus decodeHeaders(http::RequestHeaderMap& headers,
                                          bool end_stream) override;
  http::FilterDataStatus decodeData(buffer::Instance&, bool) override {
    return http::FilterDataStatus::kContinue;
  }
  http::FilterTrailersStatus decodeTrailers(http::HeaderMap&) override {
    return http::FilterTrailersStatus::kContinue;
  }

  // http::StreamEncoderFilter
  void setEncoderFilterCallbacks(http::StreamEncoderFilterCallbacks&) override {}
  http::FilterHeadersStatus encodeHeaders(http::ResponseHeaderMap& headers,
                                          bool end_stream) override;
  http::FilterDataStatus encodeData(buffer::Instance&, bool) override {
    return http::FilterDataStatus::kContinue;
  }
  http::FilterTrailersStatus encodeTrailers(http::HeaderMap&) override {
    return http::FilterTrailersStatus::kContinue;
  }

  // http::StreamFilter
  void onDestroy() override {}

 private:
  const HeaderRewriteConfigConstSharedPtr config_;
};

}  // namespace proxy::plugins::header_rewrite
