#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <vector>

#include "api/access_log/access_log.h"
#include "api/http/filter.h"
#include "api/http/route_introspector.h"
#include "api/log/logger.h"
#include "api/network/filter.h"
#include "api/registry/config_handle.h"
#include "api/stats/stats.h"
#include "api/upstream/cluster.h"

namespace proxy::registry {

// What the config validator and the data path may assume about a filter.
struct FilterCapabilities {
  // Terminal filters end a chain (tcp_proxy, router): one, and only in last place.
  bool terminal = false;
  // Whether the filter looks at body bytes; when none in a chain does, bytes may take
  // zero-copy paths.
  bool reads_body = true;
};

// What a factory may use while it builds a filter config. Main thread, config time only.
class FactoryContext {
 public:
  virtual ~FactoryContext() = default;

  // The clusters of the snapshot being built.
  virtual const upstream::ClusterManager& clusterManager() const = 0;
  // The one-endpoint cluster of a route's inline `target` URL, named `name`, with default
  // settings. The snapshot makes it, so that its name is re-resolved and its health tracked
  // like a configured cluster's; the same name and endpoint give the same cluster within a
  // snapshot. `endpoint.address` is ignored: the snapshot resolves the name. An https
  // endpoint gets the default TLS context (system store, its host as SNI), one per snapshot;
  // throws std::runtime_error (tls::ClientTlsContextError) if that cannot be set up.
  virtual upstream::ClusterConstSharedPtr targetCluster(const std::string& name,
                                                        const upstream::Endpoint& endpoint) = 0;
  virtual stats::Scope& scope() = 0;
  // The listener whose chain is being built, for metric labels and logs.
  virtual const std::string& listenerName() const = 0;
  // The names of the filters in the chain being built, in order.
  virtual const std::vector<std::string>& chainFilterNames() const = 0;
  // The process's log; filters keep the reference (it outlives every snapshot) and may log
  // from any worker.
  virtual log::Logger& logger() = 0;
  // The access log (top-level `access_log`), or null when it is off. Filters keep the shared
  // pointer in their config and call it on their worker.
  virtual access_log::AccessLogSinkSharedPtr accessLog() = 0;

  // Stores `value` under `key` in this listener's ConfigHandle once the snapshot being built
  // is applied (never if the reload is refused) and returns that handle: the same object for
  // every snapshot of the listener while it keeps its name and address. nullptr where configs
  // are never replaced (HTTP filter contexts, tests): the filter then uses what it built.
  virtual ConfigHandleSharedPtr publishOnApply(const std::string& key,
                                               std::shared_ptr<const void> value) {
    (void)key;
    (void)value;
    return nullptr;
  }
  // A router filter registers the rules its filters route with, under its own name
  // ("path_prefix_router"), so the admin API's GET /route asks the same objects. Called in
  // chain order; other filters never call it.
  virtual void addRouteIntrospector(const std::string& filter_name,
                                    http::RouteIntrospectorConstSharedPtr introspector) = 0;
};

// Installs fresh filters on one new connection. Runs on the connection's worker, so it must
// be cheap and touch only the immutable config it captured.
using NetworkFilterFactoryCb = std::function<void(network::FilterManager& manager)>;

// A network filter type, registered by name. createFilterFactory() validates the YAML once
// into an immutable config (throwing ConfigError with the field relative to `config`) and
// returns the callback that instantiates the filter per connection.
class NamedNetworkFilterFactory {
 public:
  virtual ~NamedNetworkFilterFactory() = default;
  virtual std::string name() const = 0;
  virtual FilterCapabilities capabilities() const = 0;
  // `config` is the filter's `config:` node, which may be null (absent).
  virtual NetworkFilterFactoryCb createFilterFactory(const YAML::Node& config,
                                                     FactoryContext& context) = 0;
};

// Installs fresh filters on one new HTTP stream; runs on the stream's worker.
using HttpFilterFactoryCb = std::function<void(http::FilterChainFactoryCallbacks& callbacks)>;

// An HTTP filter type, registered by name; used inside http_connection_manager's
// `http_filters`. The FactoryContext's chainFilterNames() are the HTTP filters' names.
class NamedHttpFilterFactory {
 public:
  virtual ~NamedHttpFilterFactory() = default;
  virtual std::string name() const = 0;
  virtual FilterCapabilities capabilities() const = 0;
  virtual HttpFilterFactoryCb createFilterFactory(const YAML::Node& config,
                                                  FactoryContext& context) = 0;
};

}  // namespace proxy::registry
