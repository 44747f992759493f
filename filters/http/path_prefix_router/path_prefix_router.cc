#include "filters/http/path_prefix_router/path_prefix_router.h"

#include "common/router/route_impl.h"

namespace proxy::filters::path_prefix_router {
namespace {

std::vector<proxy::router::PathPrefixMatcher::Rule> matcherRules(
    const std::vector<PrefixRoute>& routes) {
  std::vector<proxy::router::PathPrefixMatcher::Rule> rules;
  rules.reserve(routes.size());
  for (const PrefixRoute& route : routes) {
    rules.push_back({route.host, route.prefix});
  }
  return rules;
}

}  // namespace

PathPrefixRouterConfig::PathPrefixRouterConfig(const std::vector<PrefixRoute>& routes)
    : matcher_(matcherRules(routes)) {
  entries_.reserve(routes.size());
  for (const PrefixRoute& route : routes) {
    entries_.push_back(proxy::router::RouteEntry{
        std::make_shared<const proxy::router::RouteImpl>(route.name, "path_prefix_router",
                                                         route.cluster, route.preserve_host),
        route.strip_prefix ? route.prefix.size() : 0});
  }
}

const proxy::router::RouteEntry* PathPrefixRouterConfig::match(std::string_view host,
                                                               std::string_view path) const {
  size_t index = matcher_.match(host, path);
  return index == proxy::router::PathPrefixMatcher::kNoMatch ? nullptr : &entries_[index];
}

}  // namespace proxy::filters::path_prefix_router
