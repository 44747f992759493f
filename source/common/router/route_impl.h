#pragma once

#include <string>

#include "api/http/route.h"
#include "api/upstream/cluster.h"

namespace proxy::router {

// A router filter's rule as the stream sees it once chosen. Immutable.
class RouteImpl final : public http::Route {
 public:
  RouteImpl(std::string name, std::string router_name, upstream::ClusterConstSharedPtr cluster,
            bool preserve_host);

  // http::Route
  const std::string& name() const override { return name_; }
  const std::string& routerName() const override { return router_name_; }
  const upstream::ClusterConstSharedPtr& cluster() const override { return cluster_; }
  bool preserveHost() const override { return preserve_host_; }

 private:
  const std::string name_;
  const std::string router_name_;
  const upstream::ClusterConstSharedPtr cluster_;
  const bool preserve_host_;
};

}  // namespace proxy::router
