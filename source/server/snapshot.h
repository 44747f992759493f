#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/http/route_introspector.h"
#include "api/registry/filter_factory.h"
#include "api/stats/stats.h"
#include "common/stats/filter_counters.h"
#include "common/upstream/cluster_manager_impl.h"
#include "server/config/config_model.h"

namespace proxy::server {

// One listener of a snapshot: its config and the factories that install its filter chain.
struct ListenerSnapshot {
  ListenerConfig config;
  std::vector<registry::NetworkFilterFactoryCb> chain;
  // What the filter manager counts for each filter of `chain`, same index.
  std::vector<stats::FilterCounters> filter_counters;
  // Connections closed at accept because the listener was at max_connections.
  stats::Counter* connections_rejected = nullptr;
  // The router filters of the listener's HTTP chain, in chain order, with the rules they
  // route by (for GET /route). Empty for a TCP listener.
  std::vector<std::pair<std::string, http::RouteIntrospectorConstSharedPtr>> route_introspectors;
};

using ListenerSnapshotConstSharedPtr = std::shared_ptr<const ListenerSnapshot>;

// An immutable, fully built config: clusters with resolved endpoints and every listener's
// filter chain factories. Workers hold it through shared pointers, so a connection keeps
// the snapshot it started with.
struct Snapshot {
  Config config;
  std::shared_ptr<const upstream::ClusterManagerImpl> clusters;
  std::vector<ListenerSnapshotConstSharedPtr> listeners;
};

using SnapshotConstSharedPtr = std::shared_ptr<const Snapshot>;

// Builds a snapshot on the main thread: resolves endpoint names and runs every filter
// factory. Throws ConfigFileError (one line, FILE:LINE:COL: FIELD: ...) when a factory
// rejects its config.
SnapshotConstSharedPtr buildSnapshot(const Config& config, stats::Scope& scope);

}  // namespace proxy::server
