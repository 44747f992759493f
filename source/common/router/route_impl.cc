#include "common/router/route_impl.h"

namespace proxy::router {

RouteImpl::RouteImpl(std::string name, std::string router_name,
                     upstream::ClusterConstSharedPtr cluster, bool preserve_host)
    : name_(std::move(name)),
      router_name_(std::move(router_name)),
      cluster_(std::move(cluster)),
      preserve_host_(preserve_host) {}

}  // namespace proxy::router
