#include "server/active_listener.h"

#include <sys/socket.h>
#include <unistd.h>

#include "common/network/connection_impl.h"
#include "server/worker.h"

namespace proxy::server {

ActiveListener::ActiveListener(Worker& worker, int listen_fd,
                               ListenerSnapshotConstSharedPtr listener)
    : worker_(worker),
      listener_(std::move(listener)),
      listener_impl_(worker.dispatcher(), listen_fd,
                     [this](int fd, const network::Address& remote) { onAccept(fd, remote); }),
      count_(*new ListenerConnectionCount(worker)) {
  count_.hold();
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (getsockname(listen_fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
    local_address_ = network::Address(reinterpret_cast<sockaddr*>(&local), len);
  }
}

ActiveListener::~ActiveListener() { count_.release(); }

void ActiveListener::update(ListenerSnapshotConstSharedPtr listener) {
  listener_ = std::move(listener);
}

void ActiveListener::onAccept(int fd, const network::Address& remote) {
  // One count over every worker, so the limit is exact: a per-worker share would refuse
  // while the listener is under its limit (the connections landed unevenly). Taken here,
  // given back by ActiveConnection when the connection is destroyed.
  std::atomic<uint32_t>& open = *listener_->open_connections;
  if (open.fetch_add(1, std::memory_order_relaxed) >= listener_->config.max_connections) {
    open.fetch_sub(1, std::memory_order_relaxed);
    // Over the limit: closed at once, and counted.
    ::close(fd);
    listener_->connections_rejected->inc();
    return;
  }
  auto connection = std::make_unique<network::ConnectionImpl>(worker_.dispatcher(), fd, remote,
                                                              local_address_, true);
  for (size_t i = 0; i < listener_->chain.size(); ++i) {
    if (i < listener_->filter_counters.size()) {
      connection->setInstallingFilterCounters(listener_->filter_counters[i]);
    }
    listener_->chain[i](*connection);
  }
  network::Connection& ref = *connection;
  worker_.addConnection(std::move(connection), listener_, count_);
  ref.initializeReadFilters();
}

}  // namespace proxy::server
