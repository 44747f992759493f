#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <vector>

#include "api/http/filter.h"
#include "api/http/route_introspector.h"
#include "api/network/filter.h"
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
  virtual stats::Scope& scope() = 0;
  // The listener whose chain is being built, for metric labels and logs.
  virtual const std::string& listenerName() const = 0;
  // The names of the filters in the chain being built, in order.
  virtual const std::vector<std::string>& chainFilterNames() const = 0;
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
