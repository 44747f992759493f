#include "filters/http/path_prefix_router/config.h"

#include "api/http/recycled_memory.h"
#include "api/registry/registry.h"
#include "common/config/yaml_util.h"
#include "common/router/request_host.h"
#include "common/router/route_clusters.h"
#include "common/router/route_names.h"
#include "filters/http/path_prefix_router/path_prefix_router.h"

namespace proxy::filters::path_prefix_router {
namespace {

std::string readHost(const YAML::Node& rule, const std::string& where) {
  auto text = config::optionalString(rule, where, "host");
  if (!text || text->empty()) {
    return "";
  }
  std::string host = proxy::router::normalizeHost(*text);
  if (!proxy::router::isHostName(host)) {
    config::fail(rule["host"], config::fieldPath(where, "host"),
                 std::string("expected a host name (wildcards are host_router's), found ") +
                     config::describe(rule["host"]));
  }
  return host;
}

std::string readPrefix(const YAML::Node& rule, const std::string& where) {
  const std::string field = config::fieldPath(where, "prefix");
  auto prefix = config::optionalString(rule, where, "prefix");
  if (!prefix || prefix->empty() || prefix->front() != '/') {
    config::fail(
        prefix ? rule["prefix"] : rule, field,
        "expected a path prefix starting with \"/\", found " + config::describe(rule["prefix"]));
  }
  // Matching sees the path with dot-segments removed and without the query, so such a
  // prefix could never match.
  if (prefix->find_first_of("?#") != std::string::npos) {
    config::fail(rule["prefix"], field,
                 "expected a path prefix without a query or fragment, found " +
                     config::describe(rule["prefix"]));
  }
  if (prefix->find("/./") != std::string::npos || prefix->find("/../") != std::string::npos) {
    config::fail(rule["prefix"], field,
                 "expected a path prefix without \".\" or \"..\" segments (paths are matched "
                 "after removing them), found " +
                     config::describe(rule["prefix"]));
  }
  return *prefix;
}

}  // namespace

registry::HttpFilterFactoryCb PathPrefixRouterFactory::createFilterFactory(
    const YAML::Node& node, registry::FactoryContext& context) {
  config::checkKeys(node, "", {"routes"});
  YAML::Node list = node.IsMap() ? node["routes"] : YAML::Node();
  if (!list.IsDefined() || !list.IsSequence()) {
    config::fail(list.IsDefined() ? list : node, "routes",
                 "expected a list of routes (may be empty), found " + config::describe(list));
  }

  // Explicit names first, so a derived name never takes one.
  proxy::router::RouteNames names;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = config::indexPath("routes", i);
    config::checkKeys(
        list[i], where,
        {"name", "host", "prefix", "cluster", "target", "strip_prefix", "preserve_host"});
    if (auto name = config::optionalString(list[i], where, "name")) {
      if (name->empty() || !names.reserve(*name)) {
        config::fail(list[i]["name"], config::fieldPath(where, "name"),
                     name->empty()
                         ? "expected a non-empty name, found \"\""
                         : "expected a name no other route has, found \"" + *name + "\" twice");
      }
    }
  }

  std::vector<PrefixRoute> routes;
  routes.reserve(list.size());
  proxy::router::RouteClusters clusters(context);
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node rule = list[i];
    const std::string where = config::indexPath("routes", i);
    PrefixRoute route;
    route.host = readHost(rule, where);
    route.prefix = readPrefix(rule, where);
    route.cluster = clusters.forRule(rule, where);
    route.strip_prefix = config::optionalBool(rule, where, "strip_prefix").value_or(false);
    route.preserve_host = config::optionalBool(rule, where, "preserve_host").value_or(false);
    auto name = config::optionalString(rule, where, "name");
    route.name = name ? *name : names.derive(route.host + route.prefix);
    routes.push_back(std::move(route));
  }

  auto config = std::make_shared<const PathPrefixRouterConfig>(routes);
  context.addRouteIntrospector(name(), config);
  return [config](http::FilterChainFactoryCallbacks& callbacks) {
    callbacks.addStreamDecoderFilter(std::allocate_shared<PathPrefixRouterFilter>(
        http::RecyclingAllocator<PathPrefixRouterFilter>(), config));
  };
}

static registry::RegisterHttpFilter<PathPrefixRouterFactory> registered;

}  // namespace proxy::filters::path_prefix_router
