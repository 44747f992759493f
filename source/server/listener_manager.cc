#include "server/listener_manager.h"

#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include "server/config/config_loader.h"
#include "server/reload_plan.h"

namespace proxy::server {

ListenerManager::~ListenerManager() {
  closeSockets(pending_);
  closeSockets(sockets_);
}

void ListenerManager::bindInto(const Snapshot& snapshot, const std::vector<std::string>& names,
                               std::map<std::string, network::ListenSocket>& into) {
  for (const auto& name : names) {
    const ListenerConfig& config = snapshot.listener(name)->config;
    try {
      into[name] = network::createListenSocket(config.address.host, config.address.port);
    } catch (const std::runtime_error& error) {
      throw ConfigFileError(formatConfigError(
          snapshot.config.file,
          registry::ConfigError(config.mark, config.field + ".address", error.what())));
    }
  }
}

void ListenerManager::bind(const Snapshot& snapshot) {
  std::vector<std::string> names;
  for (const auto& listener : snapshot.listeners) {
    names.push_back(listener->config.name);
  }
  bindInto(snapshot, names, sockets_);
}

void ListenerManager::start(const Snapshot& snapshot,
                            std::vector<std::unique_ptr<Worker>>& workers) {
  for (const auto& listener : snapshot.listeners) {
    // Every worker accepts; max_connections is counted over all of them (ActiveListener).
    for (auto& worker : workers) {
      worker->addListener(sockets_.at(listener->config.name).fd, listener);
    }
  }
}

void ListenerManager::prepare(const Snapshot& running, const Snapshot& next) {
  closeSockets(pending_);
  pending_.clear();
  try {
    bindInto(next, planListeners(running.config, next.config).bind, pending_);
  } catch (...) {
    closeSockets(pending_);
    pending_.clear();
    throw;
  }
}

void ListenerManager::apply(const Snapshot& running, SnapshotConstSharedPtr next,
                            std::vector<std::unique_ptr<Worker>>& workers,
                            std::chrono::milliseconds drain_timeout) {
  const ListenerPlan plan = planListeners(running.config, next->config);
  std::map<std::string, network::ListenSocket> sockets;
  for (const auto& name : plan.keep) {
    sockets[name] = sockets_.at(name);
    sockets_.erase(name);
  }
  for (auto& [name, socket] : pending_) {
    sockets[name] = socket;
  }
  pending_.clear();
  std::map<std::string, int> fds;
  for (const auto& [name, socket] : sockets) {
    fds[name] = socket.fd;
  }
  onEveryWorker(workers, [&](Worker& worker, std::function<void()> done) {
    worker.applySnapshot(next, fds, drain_timeout, std::move(done));
  });
  // No worker watches the removed listeners' sockets any more.
  closeSockets(sockets_);
  sockets_ = std::move(sockets);
}

void ListenerManager::stopAccepting(std::vector<std::unique_ptr<Worker>>& workers) {
  onEveryWorker(workers, [](Worker& worker, std::function<void()> done) {
    worker.stopListeners(std::move(done));
  });
  // Sockets are closed only once no worker watches them any more, so a descriptor
  // number reused meanwhile is never unregistered by mistake.
  closeSockets(sockets_);
}

std::string ListenerManager::boundAddress(const std::string& name) const {
  auto it = sockets_.find(name);
  return it == sockets_.end() ? "" : it->second.address.asString();
}

void ListenerManager::onEveryWorker(
    std::vector<std::unique_ptr<Worker>>& workers,
    const std::function<void(Worker&, std::function<void()>)>& post) {
  std::mutex mutex;
  std::condition_variable finished;
  size_t remaining = workers.size();
  for (auto& worker : workers) {
    post(*worker, [&] {
      std::lock_guard<std::mutex> lock(mutex);
      --remaining;
      finished.notify_one();
    });
  }
  std::unique_lock<std::mutex> lock(mutex);
  finished.wait(lock, [&] { return remaining == 0; });
}

void ListenerManager::closeSockets(std::map<std::string, network::ListenSocket>& sockets) {
  for (auto& [name, socket] : sockets) {
    if (socket.fd >= 0) {
      ::close(socket.fd);
      socket.fd = -1;
    }
  }
}

}  // namespace proxy::server
