#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/upstream/cluster.h"
#include "common/router/path_prefix_matcher.h"
#include "common/router/route_table.h"
#include "common/router/routing_filter.h"

namespace proxy::filters::path_prefix_router {

// One rule of a path_prefix_router.
struct PrefixRoute {
  std::string name;
  std::string host;    // normalized; "" matches every host
  std::string prefix;  // starts with "/"
  upstream::ClusterConstSharedPtr cluster;
  bool strip_prefix = false;
  bool preserve_host = false;
};

// path_prefix_router's rules, in order: the first rule whose host matches (a rule without a
// host matches every host) and whose prefix is a byte prefix of the normalized path wins
// ("/users" also matches "/users2"). Looked up through a proxy::router::PathPrefixMatcher, which
// gives the same answer as trying the rules in order. Immutable; shared by the listener's
// streams.
class PathPrefixRouterConfig final : public proxy::router::RouteTable {
 public:
  explicit PathPrefixRouterConfig(const std::vector<PrefixRoute>& routes);

  // proxy::router::RouteTable
  const proxy::router::RouteEntry* match(std::string_view host,
                                         std::string_view path) const override;

 private:
  std::vector<proxy::router::RouteEntry> entries_;  // one per rule, in config order
  proxy::router::PathPrefixMatcher matcher_;
};

using PathPrefixRouterConfigConstSharedPtr = std::shared_ptr<const PathPrefixRouterConfig>;

// The `path_prefix_router` HTTP filter: proxy::router::RoutingFilter over a PathPrefixRouterConfig.
class PathPrefixRouterFilter final : public proxy::router::RoutingFilter {
 public:
  explicit PathPrefixRouterFilter(PathPrefixRouterConfigConstSharedPtr config)
      : RoutingFilter(std::move(config)) {}
};

}  // namespace proxy::filters::path_prefix_router
