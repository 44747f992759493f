#include "server/worker.h"

#include <pthread.h>

#include <algorithm>

#include "common/http/connection_pool.h"
#include "common/http/tunnel_registry.h"
#include "common/stats/store_impl.h"
#include "server/reload_plan.h"

namespace proxy::server {

Worker::Worker(uint32_t index) : index_(index), dispatcher_("worker_" + std::to_string(index)) {}

Worker::~Worker() {
  stop();
  // Connections still listed (a worker whose loop never ran) go with it, as a list of owning
  // pointers would have taken them.
  while (connections_ != nullptr) {
    ActiveConnection* next = connections_->next_;
    delete connections_;
    connections_ = next;
  }
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

void Worker::run() {
  pthread_setname_np(pthread_self(), dispatcher_.name().c_str());
  stats::setCurrentThreadSlot(index_);
  dispatcher_.run();
  // The loop has ended: release everything on this thread, where it was created.
  listeners_.clear();
  closeConnections("worker_stopped");
  // This worker's idle upstream connections go now, while the loop can still delete them.
  http::ConnectionPools::releaseDispatcher(dispatcher_);
  dispatcher_.runOnce(std::chrono::milliseconds(0));
  // The streams are gone with their connections, and their tunnels with them.
  http::TunnelRegistry::releaseDispatcher(dispatcher_);
}

void Worker::stop() {
  if (thread_.joinable()) {
    dispatcher_.exit();
    thread_.join();
  }
}

void Worker::addListener(int listen_fd, ListenerSnapshotConstSharedPtr listener) {
  dispatcher_.post([this, listen_fd, listener = std::move(listener)] {
    listeners_.push_back(std::make_unique<ActiveListener>(*this, listen_fd, listener));
  });
}

void Worker::applySnapshot(SnapshotConstSharedPtr next, std::map<std::string, int> listen_fds,
                           std::chrono::milliseconds drain_timeout, std::function<void()> done) {
  dispatcher_.post([this, next = std::move(next), listen_fds = std::move(listen_fds), drain_timeout,
                    done = std::move(done)] {
    std::vector<std::unique_ptr<ActiveListener>> listeners;
    for (const auto& listener : next->listeners) {
      auto kept = std::find_if(listeners_.begin(), listeners_.end(), [&](const auto& active) {
        return active != nullptr && sameSocket(active->listener().config, listener->config);
      });
      if (kept != listeners_.end()) {
        (*kept)->update(listener);
        listeners.push_back(std::move(*kept));
      } else if (auto fd = listen_fds.find(listener->config.name); fd != listen_fds.end()) {
        listeners.push_back(std::make_unique<ActiveListener>(*this, fd->second, listener));
      }
    }
    // What is left in listeners_ was removed: destroying it stops accepting there.
    listeners_ = std::move(listeners);

    // Draining may close connections, which removes entries: walk a copy.
    std::vector<ActiveConnection*> open;
    for (ActiveConnection* active = connections_; active != nullptr; active = active->next_) {
      open.push_back(active);
    }
    // Connections share few listener snapshots: plan once per snapshot.
    std::map<const ListenerSnapshot*, ConnectionAction> actions;
    const http::TunnelRegistry& tunnels = http::TunnelRegistry::forDispatcher(dispatcher_);
    for (auto* active : open) {
      auto [it, added] = actions.try_emplace(&active->listener(), ConnectionAction::kKeep);
      if (added) {
        it->second = planConnection(active->listener(), *next);
      }
      ConnectionAction action = it->second;
      // A kept HTTP connection may carry a tunnel, which follows no new route.
      if (action == ConnectionAction::kKeep) {
        if (const upstream::Cluster* cluster = tunnels.clusterOf(active->connection().id())) {
          action = planTunnel(*cluster, *next);
        }
      }
      if (action == ConnectionAction::kDrain) {
        active->drainWithin(drain_timeout);
      }
    }
    done();
  });
}

void Worker::stopListeners(std::function<void()> done) {
  dispatcher_.post([this, done = std::move(done)] {
    listeners_.clear();
    done();
  });
}

void Worker::drainConnections() {
  dispatcher_.post([this] {
    // Draining may close connections, which removes entries: walk a copy.
    std::vector<network::Connection*> open;
    for (ActiveConnection* active = connections_; active != nullptr; active = active->next_) {
      open.push_back(&active->connection());
    }
    for (auto* connection : open) {
      connection->startDrain();
    }
  });
}

void Worker::closeAllConnections() {
  dispatcher_.post([this] { closeConnections("shutdown_timeout"); });
}

void Worker::addConnection(network::ConnectionPtr connection,
                           ListenerSnapshotConstSharedPtr listener,
                           ListenerConnectionCount& count) {
  auto* active = new ActiveConnection(std::move(connection), std::move(listener), count);
  active->connection().addConnectionCallbacks(*active);
  active->next_ = connections_;
  if (connections_ != nullptr) {
    connections_->prev_ = active;
  }
  connections_ = active;
  open_connections_.store(++connection_count_, std::memory_order_relaxed);
}

void Worker::removeConnection(ActiveConnection& active) {
  // The connection is mid-callback: destroy it, and the filters it owns, after this event.
  std::unique_ptr<ActiveConnection> owned(&active);
  if (active.prev_ != nullptr) {
    active.prev_->next_ = active.next_;
  } else {
    connections_ = active.next_;
  }
  if (active.next_ != nullptr) {
    active.next_->prev_ = active.prev_;
  }
  active.prev_ = active.next_ = nullptr;
  open_connections_.store(--connection_count_, std::memory_order_relaxed);
  dispatcher_.deferredDelete(std::move(owned));
}

void Worker::closeConnections(std::string_view reason) {
  // Closing raises events that remove entries: walk a copy of the pointers.
  std::vector<network::Connection*> open;
  for (ActiveConnection* active = connections_; active != nullptr; active = active->next_) {
    open.push_back(&active->connection());
  }
  for (auto* connection : open) {
    connection->close(network::ConnectionCloseType::kNoFlush, reason);
  }
}

}  // namespace proxy::server
