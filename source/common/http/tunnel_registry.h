#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "api/event/dispatcher.h"
#include "api/upstream/cluster.h"

namespace proxy::http {

// The byte tunnels (upgraded streams, docs/behaviour.md §3) open on one worker: for each, the
// downstream connection it runs on and the cluster it goes to. The router adds one with the
// upgrade request (a reload may come before the 101) and removes it when the stream ends or
// the answer is no 101. A reload asks it which cluster the tunnel on each kept connection
// goes to, and drains the connection when the new snapshot replaced or removed that cluster
// (docs/behaviour.md §7): the listener's config handles cannot tell, since a tunnel never routes
// again. Worker thread only; no locks.
class TunnelRegistry {
 public:
  // The tunnel on downstream connection `connection_id` goes to `cluster`. One per
  // connection (HTTP/1.1 tunnels the whole connection); a second add() replaces the first.
  void add(uint64_t connection_id, upstream::ClusterConstSharedPtr cluster);
  // The tunnel on `connection_id` ended; nothing if there is none.
  void remove(uint64_t connection_id);
  // The cluster of the tunnel on `connection_id`, or nullptr when it carries none.
  const upstream::Cluster* clusterOf(uint64_t connection_id) const;
  size_t size() const { return tunnels_.size(); }

  // The registry of the worker running `dispatcher`, created on first use (a thread_local
  // registry keyed by dispatcher, as ConnectionPools::forDispatcher()). Worker thread only.
  static TunnelRegistry& forDispatcher(event::Dispatcher& dispatcher);
  // Forgets the registry of `dispatcher`, once its loop has stopped; tests call it so a later
  // dispatcher at the same address finds no stale entries.
  static void releaseDispatcher(event::Dispatcher& dispatcher);

 private:
  std::unordered_map<uint64_t, upstream::ClusterConstSharedPtr> tunnels_;
};

}  // namespace proxy::http
