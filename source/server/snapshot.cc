#include "server/snapshot.h"

#include "api/registry/registry.h"
#include "common/network/socket_util.h"
#include "common/upstream/cluster_impl.h"
#include "server/config/config_loader.h"

namespace proxy::server {
namespace {

class FactoryContextImpl final : public registry::FactoryContext {
 public:
  FactoryContextImpl(upstream::ClusterManagerImpl& clusters, stats::Scope& scope,
                     const ListenerConfig& listener, const upstream::Resolver& resolver,
                     ListenerSnapshot& built)
      : clusters_(clusters),
        scope_(scope),
        listener_(listener),
        resolver_(resolver),
        built_(built) {
    for (const auto& filter : listener.filters) {
      chain_names_.push_back(filter.name);
    }
  }

  // registry::FactoryContext
  const upstream::ClusterManager& clusterManager() const override { return clusters_; }
  upstream::ClusterConstSharedPtr targetCluster(const std::string& name,
                                                const upstream::Endpoint& endpoint) override {
    for (const auto& cluster : clusters_.all()) {
      const auto& hosts = cluster->hosts();
      if (cluster->name() == name && hosts.size() == 1 && hosts[0]->hostname() == endpoint.host &&
          hosts[0]->port() == endpoint.port && hosts[0]->tls() == endpoint.tls &&
          clusters_.get(name) != cluster) {
        return cluster;
      }
    }
    upstream::Endpoint unresolved = endpoint;
    unresolved.address = network::Address();
    auto cluster = upstream::ClusterImpl::create(name, {unresolved}, upstream::ClusterSettings{},
                                                 scope_, resolver_);
    clusters_.addTarget(cluster);
    return cluster;
  }
  stats::Scope& scope() override { return scope_; }
  const std::string& listenerName() const override { return listener_.name; }
  const std::vector<std::string>& chainFilterNames() const override { return chain_names_; }
  void addRouteIntrospector(const std::string& filter_name,
                            http::RouteIntrospectorConstSharedPtr introspector) override {
    built_.route_introspectors.emplace_back(filter_name, std::move(introspector));
  }

 private:
  upstream::ClusterManagerImpl& clusters_;
  stats::Scope& scope_;
  const ListenerConfig& listener_;
  const upstream::Resolver& resolver_;
  ListenerSnapshot& built_;
  std::vector<std::string> chain_names_;
};

upstream::ClusterSettings clusterSettings(const ClusterConfig& config) {
  upstream::ClusterSettings settings;
  settings.connect_timeout = config.connect_timeout;
  settings.lb_policy = config.lb_policy == "least_request" ? upstream::LbPolicy::kLeastRequest
                                                           : upstream::LbPolicy::kRoundRobin;
  settings.health.consecutive_failures = config.passive_health.consecutive_failures;
  settings.health.ejection_time = config.passive_health.ejection_time;
  settings.dns_refresh_interval = config.dns_refresh_interval;
  return settings;
}

// Names are resolved here, on the main thread; one that does not resolve leaves its host
// without an address, so its requests get 503 (no_healthy_endpoint) until a later refresh
// resolves it, rather than failing the start-up.
std::shared_ptr<upstream::ClusterImpl> buildCluster(const ClusterConfig& config,
                                                    stats::Scope& scope,
                                                    const upstream::Resolver& resolver) {
  std::vector<upstream::Endpoint> endpoints;
  for (const auto& endpoint_config : config.endpoints) {
    upstream::Endpoint endpoint;
    endpoint.host = endpoint_config.host;
    endpoint.port = endpoint_config.port;
    endpoint.tls = endpoint_config.tls;
    endpoints.push_back(std::move(endpoint));
  }
  return upstream::ClusterImpl::create(config.name, endpoints, clusterSettings(config), scope,
                                       resolver);
}

}  // namespace

SnapshotConstSharedPtr buildSnapshot(const Config& config, stats::Scope& scope,
                                     const upstream::Resolver& resolver) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->config = config;
  auto clusters = std::make_shared<upstream::ClusterManagerImpl>();
  for (const auto& cluster : config.clusters) {
    clusters->add(buildCluster(cluster, scope, resolver));
  }
  snapshot->clusters = clusters;
  for (const auto& listener : config.listeners) {
    auto built = std::make_shared<ListenerSnapshot>();
    built->config = listener;
    built->connections_rejected =
        &scope.counter("proxy_listener_connections_rejected_total",
                       "Connections closed at accept because the listener was at max_connections.",
                       {{"listener", listener.name}});
    FactoryContextImpl context(*clusters, scope, listener, resolver, *built);
    for (const auto& filter : listener.filters) {
      registry::NamedNetworkFilterFactory* factory = registry::networkFilters().get(filter.name);
      if (factory == nullptr) {
        // The loader checked names; a factory missing here is a bug, reported the same way.
        throw ConfigFileError(formatConfigError(
            config.file, registry::ConfigError(filter.mark, filter.field + ".name",
                                               "unknown filter \"" + filter.name + "\"")));
      }
      try {
        built->chain.push_back(factory->createFilterFactory(filter.config, context));
      } catch (const registry::ConfigError& error) {
        // A generated node (seed form) has no position: the filter's mark stands in.
        throw ConfigFileError(
            formatConfigError(config.file, error, filter.field + ".config", filter.mark));
      }
    }
    for (const auto& filter : listener.filters) {
      built->filter_counters.push_back(
          stats::FilterCounters::forNetworkFilter(scope, listener.name, filter.name));
    }
    snapshot->listeners.push_back(std::move(built));
  }
  return snapshot;
}

}  // namespace proxy::server
