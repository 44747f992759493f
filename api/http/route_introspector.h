#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "api/http/route.h"

namespace proxy::http {

// What one router filter's rules make of a request, for the admin API's GET /route.
struct RouteExplanation {
  enum class Outcome {
    kRouted,   // `route` matched; `path` is what the upstream would be sent
    kNoRoute,  // no rule matched (or the target is not a path): the next router decides
    kBadPath,  // the path climbs above "/": this filter answers 400
  };
  Outcome outcome = Outcome::kNoRoute;
  RouteConstSharedPtr route;  // with kRouted
  // The host that was matched: the absolute form's authority or the Host value, normalized
  // (lower case, no port, no trailing dot).
  std::string host;
  // With kRouted: the request target forwarded upstream (dot-segments removed, the rule's
  // prefix stripped if it says so, the query as it came).
  std::string path;
};

// Implemented by a router filter's rules (the same immutable object its filters route
// with) so the admin API can ask them how a request would be routed without sending one.
// Registered through FactoryContext::addRouteIntrospector() when the filter's config is
// built. explain() may run on any thread (the admin API's), concurrently with traffic: it
// must only read the immutable rules.
class RouteIntrospector {
 public:
  virtual ~RouteIntrospector() = default;
  // `host_header` is the Host value ("" for none) and `target` the request target as on the
  // request line; both are normalized exactly as for a real request.
  virtual RouteExplanation explain(std::string_view host_header, std::string_view target) const = 0;
};

using RouteIntrospectorConstSharedPtr = std::shared_ptr<const RouteIntrospector>;

}  // namespace proxy::http
