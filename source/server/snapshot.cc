#include "server/snapshot.h"

#include "api/registry/registry.h"
#include "common/network/socket_util.h"
#include "common/upstream/cluster_impl.h"
#include "server/config/config_loader.h"
#include "server/config_diff.h"

namespace proxy::server {
namespace {

// The snapshot's clusters as one listener's factories see them, noting which they look up.
class RecordingClusterManager final : public upstream::ClusterManager {
 public:
  RecordingClusterManager(const upstream::ClusterManager& clusters, ListenerSnapshot& listener)
      : clusters_(clusters), listener_(listener) {}

  // upstream::ClusterManager
  upstream::ClusterConstSharedPtr get(std::string_view name) const override {
    upstream::ClusterConstSharedPtr cluster = clusters_.get(name);
    if (cluster != nullptr) {
      listener_.clusters_used[std::string(name)] = cluster;
    }
    return cluster;
  }

 private:
  const upstream::ClusterManager& clusters_;
  ListenerSnapshot& listener_;
};

class FactoryContextImpl final : public registry::FactoryContext {
 public:
  FactoryContextImpl(const upstream::ClusterManager& clusters, stats::Scope& scope,
                     ListenerSnapshot& listener, const ListenerSnapshot* previous)
      : clusters_(clusters, listener), scope_(scope), listener_(listener), previous_(previous) {
    for (const auto& filter : listener.config.filters) {
      chain_names_.push_back(filter.name);
    }
  }

  // registry::FactoryContext
  const upstream::ClusterManager& clusterManager() const override { return clusters_; }
  stats::Scope& scope() override { return scope_; }
  const std::string& listenerName() const override { return listener_.config.name; }
  const std::vector<std::string>& chainFilterNames() const override { return chain_names_; }
  registry::ConfigHandleSharedPtr publishOnApply(const std::string& key,
                                                 std::shared_ptr<const void> value) override {
    ConfigHandleImplSharedPtr handle;
    if (previous_ != nullptr) {
      if (auto it = previous_->published.find(key); it != previous_->published.end()) {
        handle = it->second.first;
      }
    }
    if (handle == nullptr) {
      handle = std::make_shared<ConfigHandleImpl>();
    }
    listener_.published[key] = {handle, std::move(value)};
    return handle;
  }
  void addRouteIntrospector(const std::string& filter_name,
                            http::RouteIntrospectorConstSharedPtr introspector) override {
    listener_.route_introspectors.emplace_back(filter_name, std::move(introspector));
  }

 private:
  RecordingClusterManager clusters_;
  stats::Scope& scope_;
  ListenerSnapshot& listener_;
  // The same listener (name and address) in the running snapshot, whose handles carry over.
  const ListenerSnapshot* previous_;
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

const ListenerSnapshot* Snapshot::listener(const std::string& name) const {
  for (const auto& listener : listeners) {
    if (listener->config.name == name) {
      return listener.get();
    }
  }
  return nullptr;
}

bool sameSocket(const ListenerConfig& old_listener, const ListenerConfig& next) {
  return old_listener.name == next.name &&
         old_listener.address.toString() == next.address.toString();
}

SnapshotConstSharedPtr buildSnapshot(const Config& config, stats::Scope& scope,
                                     const Snapshot* previous) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->config = config;
  snapshot->generation = previous == nullptr ? 1 : previous->generation + 1;
  auto clusters = std::make_shared<upstream::ClusterManagerImpl>();
  for (const auto& cluster : config.clusters) {
    upstream::ClusterConstSharedPtr kept;
    if (previous != nullptr) {
      // Compared by content: an unchanged cluster is the running object, state and all.
      for (const auto& old_cluster : previous->config.clusters) {
        if (old_cluster.name == cluster.name &&
            clusterContent(old_cluster) == clusterContent(cluster)) {
          kept = previous->clusters->get(cluster.name);
          break;
        }
      }
    }
    clusters->add(kept != nullptr ? kept : buildCluster(cluster));
  }
  snapshot->clusters = clusters;
  for (const auto& listener : config.listeners) {
    auto built = std::make_shared<ListenerSnapshot>();
    built->config = listener;
    built->connections_rejected =
        &scope.counter("proxy_listener_connections_rejected_total",
                       "Connections closed at accept because the listener was at max_connections.",
                       {{"listener", listener.name}});
    const ListenerSnapshot* old_listener =
        previous == nullptr ? nullptr : previous->listener(listener.name);
    if (old_listener != nullptr && !sameSocket(old_listener->config, listener)) {
      old_listener = nullptr;
    }
    FactoryContextImpl context(*clusters, scope, *built, old_listener);
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
