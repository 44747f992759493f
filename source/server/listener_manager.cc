#include "server/listener_manager.h"

#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include "server/config/config_loader.h"

namespace proxy::server {

ListenerManager::~ListenerManager() { closeSockets(); }

void ListenerManager::bind(const Snapshot& snapshot) {
  for (const auto& listener : snapshot.listeners) {
    const ListenerConfig& config = listener->config;
    try {
      sockets_.push_back(network::createListenSocket(config.address.host, config.address.port));
    } catch (const std::runtime_error& error) {
      throw ConfigFileError(formatConfigError(
          snapshot.config.file,
          registry::ConfigError(config.mark, config.field + ".address", error.what())));
    }
  }
}

void ListenerManager::start(const Snapshot& snapshot,
                            std::vector<std::unique_ptr<Worker>>& workers) {
  const auto worker_count = static_cast<uint32_t>(workers.size());
  for (size_t i = 0; i < snapshot.listeners.size(); ++i) {
    const auto& listener = snapshot.listeners[i];
    // Each worker enforces its share of the limit: no counter shared between workers.
    uint32_t share = (listener->config.max_connections + worker_count - 1) / worker_count;
    for (auto& worker : workers) {
      worker->addListener(sockets_[i].fd, listener, share);
    }
  }
}

void ListenerManager::stopAccepting(std::vector<std::unique_ptr<Worker>>& workers) {
  std::mutex mutex;
  std::condition_variable stopped;
  size_t remaining = workers.size();
  for (auto& worker : workers) {
    worker->stopListeners([&] {
      std::lock_guard<std::mutex> lock(mutex);
      --remaining;
      stopped.notify_one();
    });
  }
  {
    // Sockets are closed only once no worker watches them any more, so a descriptor
    // number reused meanwhile is never unregistered by mistake.
    std::unique_lock<std::mutex> lock(mutex);
    stopped.wait(lock, [&] { return remaining == 0; });
  }
  closeSockets();
}

void ListenerManager::closeSockets() {
  for (auto& socket : sockets_) {
    if (socket.fd >= 0) {
      ::close(socket.fd);
      socket.fd = -1;
    }
  }
}

}  // namespace proxy::server
