#include "common/router/route_table.h"

#include "common/router/route_decision.h"

namespace proxy::router {

http::RouteExplanation RouteTable::explain(std::string_view host_header,
                                           std::string_view target) const {
  RouteDecision decision = decideRoute(*this, host_header, target);
  http::RouteExplanation explanation;
  explanation.host = std::move(decision.host);
  switch (decision.outcome) {
    case RouteDecision::Outcome::kRouted:
      explanation.outcome = http::RouteExplanation::Outcome::kRouted;
      explanation.route = decision.entry->route;
      explanation.path = std::move(decision.path);
      break;
    case RouteDecision::Outcome::kBadPath:
      explanation.outcome = http::RouteExplanation::Outcome::kBadPath;
      break;
    case RouteDecision::Outcome::kNoRoute:
      explanation.outcome = http::RouteExplanation::Outcome::kNoRoute;
      break;
  }
  return explanation;
}

}  // namespace proxy::router
