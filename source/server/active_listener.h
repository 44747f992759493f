#pragma once

#include <memory>

#include "common/network/listener_impl.h"
#include "server/active_connection.h"
#include "server/snapshot.h"

namespace proxy::server {

class Worker;

// One listener on one worker: accepts from the shared listen socket, enforces this
// worker's share of max_connections, and installs the snapshot's filter chain on each new
// connection.
class ActiveListener {
 public:
  ActiveListener(Worker& worker, int listen_fd, ListenerSnapshotConstSharedPtr listener,
                 uint32_t max_connections);

  const ListenerSnapshot& listener() const { return *listener_; }
  // A reload kept this listener's socket: new connections get `listener`'s chain.
  void update(ListenerSnapshotConstSharedPtr listener, uint32_t max_connections);

 private:
  void onAccept(int fd, const network::Address& remote);

  Worker& worker_;
  ListenerSnapshotConstSharedPtr listener_;
  uint32_t max_connections_;
  std::shared_ptr<ListenerConnectionCount> count_;
  network::Address local_address_;
  network::ListenerImpl listener_impl_;
};

}  // namespace proxy::server
