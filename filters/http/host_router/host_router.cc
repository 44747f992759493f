#include "filters/http/host_router/host_router.h"

#include <stdexcept>

#include "common/router/route_impl.h"

namespace proxy::filters::host_router {

HostRouterConfig::HostRouterConfig(const std::vector<VirtualHost>& virtual_hosts) {
  entries_.reserve(virtual_hosts.size());
  for (size_t i = 0; i < virtual_hosts.size(); ++i) {
    const VirtualHost& virtual_host = virtual_hosts[i];
    entries_.push_back(proxy::router::RouteEntry{
        std::make_shared<const proxy::router::RouteImpl>(
            virtual_host.name, "host_router", virtual_host.cluster, virtual_host.preserve_host),
        0});
    for (const std::string& host : virtual_host.hosts) {
      if (!hosts_.add(host, i)) {
        throw std::invalid_argument("host " + host + " is in two virtual hosts");
      }
    }
  }
}

const proxy::router::RouteEntry* HostRouterConfig::match(std::string_view host,
                                                         std::string_view) const {
  size_t index = hosts_.match(host);
  return index == proxy::router::HostMatcher::kNoMatch ? nullptr : &entries_[index];
}

}  // namespace proxy::filters::host_router
