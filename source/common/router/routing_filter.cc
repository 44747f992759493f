#include "common/router/routing_filter.h"

#include "common/router/route_decision.h"

namespace proxy::router {

http::FilterHeadersStatus RoutingFilter::decodeHeaders(http::RequestHeaderMap& headers, bool) {
  if (callbacks_->route() != nullptr) {
    // An earlier router filter decided; its rewrite stands as it is.
    return http::FilterHeadersStatus::kContinue;
  }
  RouteDecision decision =
      decideRoute(*table_, headers.get("host").value_or(std::string_view()), headers.path());
  switch (decision.outcome) {
    case RouteDecision::Outcome::kNoRoute:
      return http::FilterHeadersStatus::kContinue;
    case RouteDecision::Outcome::kBadPath: {
      http::StreamInfo& info = callbacks_->streamInfo();
      info.failure = http::RequestFailure::kRequestRejected;
      info.rejection = "path_above_root";
      callbacks_->sendLocalReply(400, "bad request: the path climbs above /\n");
      return http::FilterHeadersStatus::kStopIteration;
    }
    case RouteDecision::Outcome::kRouted:
      break;
  }
  const http::RouteConstSharedPtr& route = decision.entry->route;
  if (!callbacks_->setRoute(route)) {
    return http::FilterHeadersStatus::kContinue;
  }
  // What was matched is what the upstream sees.
  if (decision.path != headers.path()) {
    headers.setPath(decision.path);
  }
  if (!decision.authority.empty()) {
    headers.set("host", decision.authority);
  }
  http::StreamInfo& info = callbacks_->streamInfo();
  info.route_name = route->name();
  info.cluster_name = route->cluster()->name();
  return http::FilterHeadersStatus::kContinue;
}

}  // namespace proxy::router
