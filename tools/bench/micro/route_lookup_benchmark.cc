// Route lookup per request, as a router filter does it (decideRoute: host and path
// normalization, then the table), at 10 and 10,000 routes. The bar: 10,000 routes
// may cost at most 5% more than 10.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "common/router/route_decision.h"
#include "filters/http/host_router/host_router.h"
#include "filters/http/path_prefix_router/path_prefix_router.h"

namespace proxy {
namespace {

// `count` rules over count/10 hosts, ten prefixes each, and a host-less catch-all last,
// the shape of a large seed config. Returns the table and a request matching a rule in the
// middle of the list.
std::shared_ptr<const router::RouteTable> prefixTable(size_t count, std::string& host,
                                                      std::string& path) {
  std::vector<filters::path_prefix_router::PrefixRoute> routes;
  const size_t hosts = std::max<size_t>(1, count / 10);
  for (size_t i = 0; i + 1 < count; ++i) {
    filters::path_prefix_router::PrefixRoute route;
    route.name = "r" + std::to_string(i);
    route.host = "svc" + std::to_string(i % hosts) + ".example.com";
    route.prefix = "/api/v" + std::to_string(i / hosts) + "/items";
    route.strip_prefix = (i % 2) == 0;
    routes.push_back(std::move(route));
  }
  filters::path_prefix_router::PrefixRoute fallback;
  fallback.name = "fallback";
  fallback.prefix = "/";
  routes.push_back(std::move(fallback));
  const size_t middle = count / 2;
  host = "SVC" + std::to_string(middle % hosts) + ".example.com:8080";
  path = "/api/v" + std::to_string(middle / hosts) + "/items/42/./detail?expand=1";
  return std::make_shared<filters::path_prefix_router::PathPrefixRouterConfig>(routes);
}

void BM_PathPrefixRoute(benchmark::State& state) {
  std::string host, path;
  auto table = prefixTable(static_cast<size_t>(state.range(0)), host, path);
  for (auto _ : state) {
    router::RouteDecision decision = router::decideRoute(*table, host, path);
    benchmark::DoNotOptimize(decision);
  }
  // Guard against measuring the wrong thing: the request must take a host-scoped rule.
  router::RouteDecision decision = router::decideRoute(*table, host, path);
  if (decision.outcome != router::RouteDecision::Outcome::kRouted ||
      decision.entry->route->name() == "fallback") {
    state.SkipWithError("the benchmark request did not match a host-scoped rule");
  }
}
BENCHMARK(BM_PathPrefixRoute)->Arg(10)->Arg(10000);

void BM_HostRoute(benchmark::State& state) {
  const size_t count = static_cast<size_t>(state.range(0));
  std::vector<filters::host_router::VirtualHost> virtual_hosts;
  for (size_t i = 0; i < count; ++i) {
    filters::host_router::VirtualHost vhost;
    vhost.name = "v" + std::to_string(i);
    vhost.hosts = {"site" + std::to_string(i) + ".example.com",
                   "*.site" + std::to_string(i) + ".example.com"};
    virtual_hosts.push_back(std::move(vhost));
  }
  filters::host_router::HostRouterConfig table(virtual_hosts);
  const std::string host = "eu.site" + std::to_string(count / 2) + ".example.com";
  const std::string path = "/index.html";
  for (auto _ : state) {
    router::RouteDecision decision = router::decideRoute(table, host, path);
    benchmark::DoNotOptimize(decision);
  }
  if (router::decideRoute(table, host, path).outcome != router::RouteDecision::Outcome::kRouted) {
    state.SkipWithError("the benchmark request did not match");
  }
}
BENCHMARK(BM_HostRoute)->Arg(10)->Arg(10000);

}  // namespace
}  // namespace proxy
