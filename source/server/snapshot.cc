#include "server/snapshot.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <stdexcept>

#include "api/registry/registry.h"
#include "common/access_log/access_log_sink_impl.h"
#include "common/log/poco_logger.h"
#include "common/network/socket_util.h"
#include "common/tls/client_tls_context.h"
#include "common/upstream/cluster_impl.h"
#include "server/config/config_loader.h"
#include "server/config_diff.h"

namespace proxy::server {
namespace {

// The snapshot's clusters as one listener's factories see them, noting which they look up
// (a reload drains a TCP connection whose cluster was replaced).
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
  FactoryContextImpl(upstream::ClusterManagerImpl& clusters, stats::Scope& scope,
                     ListenerSnapshot& listener, const ListenerSnapshot* previous_listener,
                     const upstream::ClusterManagerImpl* previous_clusters,
                     const upstream::Resolver& resolver,
                     access_log::AccessLogSinkSharedPtr access_log,
                     network::TransportSocketFactoryConstSharedPtr& target_tls)
      : clusters_(clusters),
        recording_(clusters, listener),
        scope_(scope),
        listener_(listener),
        previous_listener_(previous_listener),
        previous_clusters_(previous_clusters),
        resolver_(resolver),
        access_log_(std::move(access_log)),
        target_tls_(target_tls) {
    for (const auto& filter : listener.config.filters) {
      chain_names_.push_back(filter.name);
    }
  }

  // registry::FactoryContext
  const upstream::ClusterManager& clusterManager() const override { return recording_; }
  upstream::ClusterConstSharedPtr targetCluster(const std::string& name,
                                                const upstream::Endpoint& endpoint) override {
    // The same inline target in this snapshot, or else in the running one (a reload keeps
    // its health and DNS state), is shared.
    if (auto found = findTarget(clusters_, name, endpoint)) {
      return found;
    }
    if (previous_clusters_ != nullptr) {
      if (auto found = findTarget(*previous_clusters_, name, endpoint)) {
        clusters_.addTarget(found);
        return found;
      }
    }
    upstream::Endpoint unresolved = endpoint;
    unresolved.address = network::Address();
    upstream::ClusterSettings settings;
    if (endpoint.tls) {
      // The defaults (system store, the target's host as SNI): one context, made with the
      // snapshot's first https target and shared by all of them. Throws
      // tls::ClientTlsContextError if OpenSSL cannot set it up.
      if (target_tls_ == nullptr) {
        target_tls_ = std::make_shared<const tls::ClientTlsContext>(tls::ClientTlsOptions{});
      }
      settings.tls_context = target_tls_;
    }
    auto cluster =
        upstream::ClusterImpl::create(name, {unresolved}, std::move(settings), scope_, resolver_);
    clusters_.addTarget(cluster);
    return cluster;
  }
  stats::Scope& scope() override { return scope_; }
  const std::string& listenerName() const override { return listener_.config.name; }
  const std::vector<std::string>& chainFilterNames() const override { return chain_names_; }
  log::Logger& logger() override {
    // The process's "proxy" logger, whose channel setUpLogging() installs; it outlives
    // every snapshot.
    static log::PocoLogger logger(Poco::Logger::get("proxy"));
    return logger;
  }
  access_log::AccessLogSinkSharedPtr accessLog() override { return access_log_; }
  registry::ConfigHandleSharedPtr publishOnApply(const std::string& key,
                                                 std::shared_ptr<const void> value) override {
    ConfigHandleImplSharedPtr handle;
    if (previous_listener_ != nullptr) {
      if (auto it = previous_listener_->published.find(key);
          it != previous_listener_->published.end()) {
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
  // An inline-target cluster (not a configured one) named `name` with exactly `endpoint`.
  static std::shared_ptr<upstream::ClusterImpl> findTarget(
      const upstream::ClusterManagerImpl& clusters, const std::string& name,
      const upstream::Endpoint& endpoint) {
    for (const auto& cluster : clusters.all()) {
      const auto& hosts = cluster->hosts();
      if (cluster->name() == name && hosts.size() == 1 && hosts[0]->hostname() == endpoint.host &&
          hosts[0]->port() == endpoint.port && hosts[0]->tls() == endpoint.tls &&
          clusters.get(name) != cluster) {
        return cluster;
      }
    }
    return nullptr;
  }

  upstream::ClusterManagerImpl& clusters_;
  RecordingClusterManager recording_;
  stats::Scope& scope_;
  ListenerSnapshot& listener_;
  // The same listener (name and address) in the running snapshot, whose handles carry over.
  const ListenerSnapshot* previous_listener_;
  const upstream::ClusterManagerImpl* previous_clusters_;
  const upstream::Resolver& resolver_;
  const access_log::AccessLogSinkSharedPtr access_log_;
  // The default TLS context of the snapshot's https:// inline targets, shared by the
  // listeners' contexts; null until the first one.
  network::TransportSocketFactoryConstSharedPtr& target_tls_;
  std::vector<std::string> chain_names_;
};

// The cluster's TLS context when it has an https endpoint: one SSL_CTX, built here on the
// main thread, shared by every worker. A CA file that loads no certificate is a config
// error at its `ca_file`.
network::TransportSocketFactoryConstSharedPtr buildTlsContext(const ClusterConfig& config,
                                                              const std::string& file) {
  const bool any_https = std::any_of(config.endpoints.begin(), config.endpoints.end(),
                                     [](const EndpointConfig& e) { return e.tls; });
  if (!any_https) {
    return nullptr;
  }
  tls::ClientTlsOptions options;
  if (config.tls) {
    options.ca_file = config.tls->ca_file;
    options.sni = config.tls->sni;
    options.verify = config.tls->verify;
  }
  try {
    return std::make_shared<const tls::ClientTlsContext>(std::move(options));
  } catch (const tls::ClientTlsContextError& error) {
    const bool ca = config.tls && !config.tls->ca_file.empty();
    throw ConfigFileError(formatConfigError(
        file, registry::ConfigError(ca ? config.tls->ca_file_mark : config.mark,
                                    ca ? config.tls->field + ".ca_file" : config.field + ".tls",
                                    std::string(ca ? "expected a PEM file of CA certificates; "
                                                   : "expected a usable TLS setup; ") +
                                        error.what())));
  }
}

upstream::ClusterSettings clusterSettings(const ClusterConfig& config, const std::string& file) {
  upstream::ClusterSettings settings;
  settings.connect_timeout = config.connect_timeout;
  settings.lb_policy = config.lb_policy == "least_request" ? upstream::LbPolicy::kLeastRequest
                                                           : upstream::LbPolicy::kRoundRobin;
  settings.health.consecutive_failures = config.passive_health.consecutive_failures;
  settings.health.ejection_time = config.passive_health.ejection_time;
  settings.dns_refresh_interval = config.dns_refresh_interval;
  settings.tls_context = buildTlsContext(config, file);
  return settings;
}

// Names are resolved here, on the main thread; one that does not resolve leaves its host
// without an address, so its requests get 503 (no_healthy_endpoint) until a later refresh
// resolves it, rather than failing the start-up.
std::shared_ptr<upstream::ClusterImpl> buildCluster(const ClusterConfig& config,
                                                    stats::Scope& scope,
                                                    const upstream::Resolver& resolver,
                                                    const std::string& file) {
  std::vector<upstream::Endpoint> endpoints;
  for (const auto& endpoint_config : config.endpoints) {
    upstream::Endpoint endpoint;
    endpoint.host = endpoint_config.host;
    endpoint.port = endpoint_config.port;
    endpoint.tls = endpoint_config.tls;
    endpoints.push_back(std::move(endpoint));
  }
  return upstream::ClusterImpl::create(config.name, endpoints, clusterSettings(config, file), scope,
                                       resolver);
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
                                     const Snapshot* previous, const upstream::Resolver& resolver) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->config = config;
  snapshot->generation = previous == nullptr ? 1 : previous->generation + 1;
  auto clusters = std::make_shared<upstream::ClusterManagerImpl>();
  for (const auto& cluster : config.clusters) {
    std::shared_ptr<upstream::ClusterImpl> kept;
    if (previous != nullptr) {
      // Compared by content: an unchanged cluster is the running object, state and all.
      for (const auto& old_cluster : previous->config.clusters) {
        if (old_cluster.name == cluster.name &&
            clusterContent(old_cluster) == clusterContent(cluster)) {
          kept = previous->clusters->find(cluster.name);
          break;
        }
      }
    }
    clusters->add(kept != nullptr ? kept : buildCluster(cluster, scope, resolver, config.file));
  }
  snapshot->clusters = clusters;
  network::TransportSocketFactoryConstSharedPtr target_tls;
  access_log::AccessLogSinkSharedPtr access_log;
  if (config.access_log.enabled()) {
    try {
      access_log = access_log::AccessLogSinkImpl::open(config.access_log.path,
                                                       config.access_log.format == "json"
                                                           ? access_log::AccessLogFormat::kJson
                                                           : access_log::AccessLogFormat::kText);
    } catch (const std::runtime_error& error) {
      throw ConfigFileError(formatConfigError(
          config.file,
          registry::ConfigError(config.access_log.mark, "access_log.path", error.what())));
    }
  }
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
    built->open_connections = old_listener != nullptr ? old_listener->open_connections
                                                      : std::make_shared<std::atomic<uint32_t>>(0);
    FactoryContextImpl context(*clusters, scope, *built, old_listener,
                               previous == nullptr ? nullptr : previous->clusters.get(), resolver,
                               access_log, target_tls);
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
