#pragma once

#include "api/http/filter.h"
#include "common/router/route_table.h"

namespace proxy::router {

// What host_router and path_prefix_router do with a request, given their rules: unless an
// earlier router filter already set the stream's route, match the request's host and
// normalized path; on a match, forward the normalized (and possibly stripped) path in origin
// form, set the route and note the route and cluster in the stream info. No match leaves
// the request to the next filter (the terminal router answers 404 when nobody routed it). A
// path that climbs above "/" is answered with 400 here. One per stream, on its worker.
class RoutingFilter : public http::StreamDecoderFilter {
 public:
  explicit RoutingFilter(RouteTableConstSharedPtr table) : table_(std::move(table)) {}

  // http::StreamDecoderFilter
  void setDecoderFilterCallbacks(http::StreamDecoderFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  http::FilterHeadersStatus decodeHeaders(http::RequestHeaderMap& headers,
                                          bool end_stream) override;
  http::FilterDataStatus decodeData(buffer::Instance&, bool) override {
    return http::FilterDataStatus::kContinue;
  }
  http::FilterTrailersStatus decodeTrailers(http::HeaderMap&) override {
    return http::FilterTrailersStatus::kContinue;
  }
  void onDestroy() override {}

 private:
  const RouteTableConstSharedPtr table_;
  http::StreamDecoderFilterCallbacks* callbacks_ = nullptr;
};

}  // namespace proxy::router
