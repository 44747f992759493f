#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "api/http/route.h"
#include "api/http/route_introspector.h"

namespace proxy::router {

// One rule of a router filter: the route it sets and how it rewrites the path.
struct RouteEntry {
  http::RouteConstSharedPtr route;
  // Bytes removed from the start of the path when forwarding: a strip_prefix rule's prefix
  // length; 0 keeps the path.
  size_t strip_length = 0;
};

// The rules of one router filter (host_router, path_prefix_router). Built on the main thread
// at config time, then immutable and shared by every stream of the listener, on any worker.
// It is also the filter's RouteIntrospector: the admin API asks the very table that routes.
class RouteTable : public http::RouteIntrospector {
 public:
  // The rule for a request whose host is `host` (normalizeHost(); "" when the request has
  // none) and whose path is `path` (dot-segments removed, no query); nullptr when none
  // matches. The entry lives as long as the table.
  virtual const RouteEntry* match(std::string_view host, std::string_view path) const = 0;

  // http::RouteIntrospector: decideRoute() over this table, as RoutingFilter does.
  http::RouteExplanation explain(std::string_view host_header,
                                 std::string_view target) const override;
};

using RouteTableConstSharedPtr = std::shared_ptr<const RouteTable>;

}  // namespace proxy::router
