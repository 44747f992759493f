#include "common/http/tunnel_registry.h"

#include <cassert>
#include <memory>
#include <utility>
#include <vector>

namespace proxy::http {
namespace {

// Each thread's registries, by dispatcher: one entry on a worker; tests on the main thread
// may create several dispatchers in turn.
struct ThreadTunnels {
  std::vector<std::pair<event::Dispatcher*, std::unique_ptr<TunnelRegistry>>> entries;
};

thread_local ThreadTunnels thread_tunnels;

}  // namespace

void TunnelRegistry::add(uint64_t connection_id, upstream::ClusterConstSharedPtr cluster) {
  tunnels_[connection_id] = std::move(cluster);
}

void TunnelRegistry::remove(uint64_t connection_id) { tunnels_.erase(connection_id); }

const upstream::Cluster* TunnelRegistry::clusterOf(uint64_t connection_id) const {
  auto it = tunnels_.find(connection_id);
  return it != tunnels_.end() ? it->second.get() : nullptr;
}

TunnelRegistry& TunnelRegistry::forDispatcher(event::Dispatcher& dispatcher) {
  assert(dispatcher.isThreadSafe());
  for (auto& [owner, registry] : thread_tunnels.entries) {
    if (owner == &dispatcher) {
      return *registry;
    }
  }
  thread_tunnels.entries.emplace_back(&dispatcher, std::make_unique<TunnelRegistry>());
  return *thread_tunnels.entries.back().second;
}

void TunnelRegistry::releaseDispatcher(event::Dispatcher& dispatcher) {
  auto& entries = thread_tunnels.entries;
  for (auto it = entries.begin(); it != entries.end(); ++it) {
    if (it->first == &dispatcher) {
      entries.erase(it);
      return;
    }
  }
}

}  // namespace proxy::http
