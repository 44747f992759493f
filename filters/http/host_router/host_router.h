#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/upstream/cluster.h"
#include "common/router/host_matcher.h"
#include "common/router/route_table.h"
#include "common/router/routing_filter.h"

namespace proxy::filters::host_router {

// A group of host names routed as a whole to one cluster.
struct VirtualHost {
  std::string name;
  // Normalized names ("api.example.com") and wildcards ("*.api.example.com").
  std::vector<std::string> hosts;
  upstream::ClusterConstSharedPtr cluster;
  bool preserve_host = false;
};

// host_router's rules: a request's host picks a virtual host by exact name first, then by
// the wildcard with the longest suffix (as nginx's server_name does), whatever the order of
// the virtual hosts in the config. The path is not looked at beyond normalizing it.
// Immutable; shared by the listener's streams.
class HostRouterConfig final : public proxy::router::RouteTable {
 public:
  // Throws std::invalid_argument when a host is in two virtual hosts (the factory reports
  // that as a config error first, with its place in the file).
  explicit HostRouterConfig(const std::vector<VirtualHost>& virtual_hosts);

  // proxy::router::RouteTable
  const proxy::router::RouteEntry* match(std::string_view host,
                                         std::string_view path) const override;

 private:
  std::vector<proxy::router::RouteEntry> entries_;  // one per virtual host, in config order
  proxy::router::HostMatcher hosts_;
};

using HostRouterConfigConstSharedPtr = std::shared_ptr<const HostRouterConfig>;

// The `host_router` HTTP filter: proxy::router::RoutingFilter over a HostRouterConfig.
class HostRouterFilter final : public proxy::router::RoutingFilter {
 public:
  explicit HostRouterFilter(HostRouterConfigConstSharedPtr config)
      : RoutingFilter(std::move(config)) {}
};

}  // namespace proxy::filters::host_router
