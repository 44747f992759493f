#include "server/reload_plan.h"

#include "server/config_diff.h"

namespace proxy::server {

ListenerPlan planListeners(const Config& running, const Config& next) {
  ListenerPlan plan;
  for (const auto& listener : next.listeners) {
    bool kept = false;
    for (const auto& old_listener : running.listeners) {
      kept = kept || sameSocket(old_listener, listener);
    }
    (kept ? plan.keep : plan.bind).push_back(listener.name);
  }
  for (const auto& old_listener : running.listeners) {
    bool kept = false;
    for (const auto& listener : next.listeners) {
      kept = kept || sameSocket(old_listener, listener);
    }
    if (!kept) {
      plan.close.push_back(old_listener.name);
    }
  }
  return plan;
}

ConnectionAction planConnection(const ListenerSnapshot& accepted_under, const Snapshot& next) {
  const ListenerSnapshot* listener = next.listener(accepted_under.config.name);
  if (listener == nullptr || !sameSocket(accepted_under.config, listener->config)) {
    return ConnectionAction::kDrain;
  }
  if (!accepted_under.published.empty()) {
    // It reads its config through handles: fine while the new chain publishes to each.
    for (const auto& [key, published] : accepted_under.published) {
      auto it = listener->published.find(key);
      if (it == listener->published.end() || it->second.first != published.first) {
        return ConnectionAction::kDrain;
      }
    }
    return ConnectionAction::kKeep;
  }
  if (listenerContent(accepted_under.config) != listenerContent(listener->config)) {
    return ConnectionAction::kDrain;
  }
  for (const auto& [name, cluster] : accepted_under.clusters_used) {
    // Unchanged clusters are the same objects in every snapshot (buildSnapshot).
    if (next.clusters->get(name) != cluster) {
      return ConnectionAction::kDrain;
    }
  }
  return ConnectionAction::kKeep;
}

ConnectionAction planTunnel(const upstream::Cluster& cluster, const Snapshot& next) {
  for (const auto& kept : next.clusters->all()) {
    if (kept.get() == &cluster) {
      return ConnectionAction::kKeep;
    }
  }
  return ConnectionAction::kDrain;
}

}  // namespace proxy::server
