#pragma once

#include <string>
#include <vector>

#include "server/snapshot.h"

namespace proxy::server {

// What a reload does to the listen sockets: listeners of the next snapshot that keep their
// socket (same name and address), those that need a new one, and the running ones whose
// socket closes. Each list in config order.
struct ListenerPlan {
  std::vector<std::string> keep;
  std::vector<std::string> bind;
  std::vector<std::string> close;
};

ListenerPlan planListeners(const Config& running, const Config& next);

// What applying `next` does to an open connection accepted under `accepted_under`.
enum class ConnectionAction {
  // Carries on: its listener and clusters are unchanged, or it follows the new config
  // through its listener's config handles (HTTP: the next request routes by `next`).
  kKeep,
  // Its listener is removed or has a new socket, or it cannot follow a change to its
  // listener or to a cluster its chain uses (TCP), or to the cluster its tunnel goes to
  // (planTunnel()): told to drain, closed after shutdown_timeout at the latest.
  kDrain,
};

ConnectionAction planConnection(const ListenerSnapshot& accepted_under, const Snapshot& next);

// What applying `next` does to a connection that planConnection() keeps when it carries an
// upgraded stream (a byte tunnel, http::TunnelRegistry) to `cluster`. The tunnel never routes
// again, so it cannot follow a new config: it carries on while `next` still holds that very
// cluster (unchanged clusters are the same objects in every snapshot, inline targets
// included), and drains once the cluster is replaced or removed.
ConnectionAction planTunnel(const upstream::Cluster& cluster, const Snapshot& next);

}  // namespace proxy::server
