#include "server/snapshot.h"

#include "api/registry/registry.h"
#include "common/network/socket_util.h"
#include "common/upstream/cluster_impl.h"
#include "server/config/config_loader.h"

namespace proxy::server {
namespace {

class FactoryContextImpl final : public registry::FactoryContext {
 public:
  FactoryContextImpl(const upstream::ClusterManager& clusters, stats::Scope& scope,
                     const ListenerConfig& listener, ListenerSnapshot& built)
      : clusters_(clusters), scope_(scope), listener_(listener), built_(built) {
    for (const auto& filter : listener.filters) {
      chain_names_.push_back(filter.name);
    }
  }

  // registry::FactoryContext
  const upstream::ClusterManager& clusterManager() const override { return clusters_; }
  stats::Scope& scope() override { return scope_; }
  const std::string& listenerName() const override { return listener_.name; }
  const std::vector<std::string>& chainFilterNames() const override { return chain_names_; }
  void addRouteIntrospector(const std::string& filter_name,
                            http::RouteIntrospectorConstSharedPtr introspector) override {
    built_.route_introspectors.emplace_back(filter_name, std::move(introspector));
  }

 private:
  const upstream::ClusterManager& clusters_;
  stats::Scope& scope_;
  const ListenerConfig& listener_;
  ListenerSnapshot& built_;
  std::vector<std::string> chain_names_;
};

upstream::ClusterConstSharedPtr buildCluster(const ClusterConfig& config) {
  std::vector<upstream::Endpoint> endpoints;
  for (const auto& endpoint_config : config.endpoints) {
    upstream::Endpoint endpoint;
    endpoint.host = endpoint_config.host;
    endpoint.port = endpoint_config.port;
    endpoint.tls = endpoint_config.tls;
    // The first address of the name; one that does not resolve stays invalid and its
    // connections fail as no_healthy_endpoint rather than failing the start-up.
    auto addresses = network::resolveAddresses(endpoint_config.host, endpoint_config.port);
    if (!addresses.empty()) {
      endpoint.address = addresses.front();
    }
    endpoints.push_back(std::move(endpoint));
  }
  return std::make_shared<upstream::ClusterImpl>(config.name, std::move(endpoints),
                                                 config.connect_timeout);
}

}  // namespace

SnapshotConstSharedPtr buildSnapshot(const Config& config, stats::Scope& scope) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->config = config;
  auto clusters = std::make_shared<upstream::ClusterManagerImpl>();
  for (const auto& cluster : config.clusters) {
    clusters->add(buildCluster(cluster));
  }
  snapshot->clusters = clusters;
  for (const auto& listener : config.listeners) {
    auto built = std::make_shared<ListenerSnapshot>();
    built->config = listener;
    built->connections_rejected =
        &scope.counter("proxy_listener_connections_rejected_total",
                       "Connections closed at accept because the listener was at max_connections.",
                       {{"listener", listener.name}});
    FactoryContextImpl context(*clusters, scope, listener, *built);
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
