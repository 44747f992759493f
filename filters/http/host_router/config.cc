#include "filters/http/host_router/config.h"

#include <map>

#include "api/http/recycled_memory.h"
#include "api/registry/registry.h"
#include "common/config/yaml_util.h"
#include "common/router/request_host.h"
#include "common/router/route_clusters.h"
#include "common/router/route_names.h"
#include "filters/http/host_router/host_router.h"

namespace proxy::filters::host_router {
namespace {

// A normalized host or "*.suffix" wildcard, or a config error naming `field`.
std::string hostPattern(const YAML::Node& node, const std::string& field) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    config::fail(node, field,
                 "expected a host name or a wildcard such as \"*.example.com\", found " +
                     config::describe(node));
  }
  std::string pattern = proxy::router::normalizeHost(node.Scalar());
  std::string_view name = pattern;
  if (name.starts_with("*.")) {
    name.remove_prefix(2);
  }
  if (!proxy::router::isHostName(name)) {
    config::fail(node, field,
                 "expected a host name or a wildcard such as \"*.example.com\" (\"*.\" and one "
                 "or more labels), found " +
                     config::describe(node));
  }
  return pattern;
}

}  // namespace

registry::HttpFilterFactoryCb HostRouterFactory::createFilterFactory(
    const YAML::Node& node, registry::FactoryContext& context) {
  config::checkKeys(node, "", {"virtual_hosts"});
  YAML::Node list = node.IsMap() ? node["virtual_hosts"] : YAML::Node();
  if (!list.IsDefined() || !list.IsSequence()) {
    config::fail(list.IsDefined() ? list : node, "virtual_hosts",
                 "expected a list of virtual hosts, found " + config::describe(list));
  }

  // Explicit names first, so a derived name never takes one.
  proxy::router::RouteNames names;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = config::indexPath("virtual_hosts", i);
    config::checkKeys(list[i], where, {"name", "hosts", "cluster", "target", "preserve_host"});
    if (auto name = config::optionalString(list[i], where, "name")) {
      if (name->empty() || !names.reserve(*name)) {
        config::fail(list[i]["name"], config::fieldPath(where, "name"),
                     name->empty() ? "expected a non-empty name, found \"\""
                                   : "expected a name no other virtual host has, found \"" + *name +
                                         "\" twice");
      }
    }
  }

  std::vector<VirtualHost> virtual_hosts;
  std::map<std::string, size_t> owner;  // host pattern -> virtual host index
  proxy::router::RouteClusters clusters(context);
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node rule = list[i];
    const std::string where = config::indexPath("virtual_hosts", i);
    const std::string hosts_field = config::fieldPath(where, "hosts");
    YAML::Node hosts = rule.IsMap() ? rule["hosts"] : YAML::Node();
    if (!hosts.IsDefined() || !hosts.IsSequence() || hosts.size() == 0) {
      config::fail(hosts.IsDefined() ? hosts : rule, hosts_field,
                   "expected a list of host names, found " + config::describe(hosts));
    }
    VirtualHost virtual_host;
    for (size_t j = 0; j < hosts.size(); ++j) {
      const std::string field = config::indexPath(hosts_field, j);
      std::string pattern = hostPattern(hosts[j], field);
      auto [it, added] = owner.emplace(pattern, i);
      if (!added) {
        config::fail(hosts[j], field,
                     "expected a host in one virtual host only, found \"" + pattern +
                         "\" also in " + config::indexPath("virtual_hosts", it->second));
      }
      virtual_host.hosts.push_back(std::move(pattern));
    }
    virtual_host.cluster = clusters.forRule(rule, where);
    virtual_host.preserve_host = config::optionalBool(rule, where, "preserve_host").value_or(false);
    auto name = config::optionalString(rule, where, "name");
    virtual_host.name = name ? *name : names.derive(virtual_host.hosts.front());
    virtual_hosts.push_back(std::move(virtual_host));
  }

  auto config = std::make_shared<const HostRouterConfig>(virtual_hosts);
  context.addRouteIntrospector(name(), config);
  return [config](http::FilterChainFactoryCallbacks& callbacks) {
    callbacks.addStreamDecoderFilter(std::allocate_shared<HostRouterFilter>(
        http::RecyclingAllocator<HostRouterFilter>(), config));
  };
}

static registry::RegisterHttpFilter<HostRouterFactory> registered;

}  // namespace proxy::filters::host_router
