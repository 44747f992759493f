#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/http/route_introspector.h"
#include "api/registry/filter_factory.h"
#include "api/stats/stats.h"
#include "common/stats/filter_counters.h"
#include "common/upstream/cluster_manager_impl.h"
#include "server/config/config_model.h"
#include "server/config_handle_impl.h"

namespace proxy::server {

// One listener of a snapshot: its config and the factories that install its filter chain.
struct ListenerSnapshot {
  ListenerConfig config;
  std::vector<registry::NetworkFilterFactoryCb> chain;
  // What the filter manager counts for each filter of `chain`, same index.
  std::vector<stats::FilterCounters> filter_counters;
  // Connections closed at accept because the listener was at max_connections.
  stats::Counter* connections_rejected = nullptr;
  // Connections open on this listen socket, over every worker: max_connections is enforced
  // against it exactly. Kept from the previous snapshot while the socket is kept, so the
  // connections of older snapshots still count.
  std::shared_ptr<std::atomic<uint32_t>> open_connections;
  // What the chain's filters publish for connections of older snapshots (registry::
  // ConfigHandle), by key: the handle, kept from the previous snapshot when the listener keeps
  // its name and address, and this snapshot's value, stored in it when the snapshot is applied.
  std::map<std::string, std::pair<ConfigHandleImplSharedPtr, std::shared_ptr<const void>>>
      published;
  // The clusters the chain's factories looked up, as they were then. A connection that cannot
  // follow a new config (TCP) is drained once one of them is replaced or removed.
  std::map<std::string, upstream::ClusterConstSharedPtr> clusters_used;
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
  // 1 for the config the process started with, +1 for each applied reload.
  uint64_t generation = 1;
  std::shared_ptr<const upstream::ClusterManagerImpl> clusters;
  std::vector<ListenerSnapshotConstSharedPtr> listeners;

  // The listener named `name`, or nullptr.
  const ListenerSnapshot* listener(const std::string& name) const;
};

using SnapshotConstSharedPtr = std::shared_ptr<const Snapshot>;

// Builds a snapshot on the main thread: resolves endpoint names with `resolver` and runs
// every filter factory. Throws ConfigFileError (one line, FILE:LINE:COL: FIELD: ...) when a
// factory rejects its config. With `previous` (a reload), a cluster whose config did not
// change is the previous snapshot's object itself, so its state (health, addresses)
// carries over, and a listener that keeps its name and address keeps its config handles;
// the generation is previous + 1.
SnapshotConstSharedPtr buildSnapshot(
    const Config& config, stats::Scope& scope, const Snapshot* previous = nullptr,
    const upstream::Resolver& resolver = upstream::systemResolver());

// Whether a listener's connections accepted under `old_listener` stay on the same socket in
// `next`: the same name and the same address.
bool sameSocket(const ListenerConfig& old_listener, const ListenerConfig& next);

}  // namespace proxy::server
