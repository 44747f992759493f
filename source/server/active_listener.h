#pragma once

#include <memory>

#include "common/network/listener_impl.h"
#include "server/active_connection.h"
#include "server/snapshot.h"

namespace proxy::server {

class Worker;

// One listener on one worker: accepts from the shared listen socket, enforces the
// listener's max_connections (counted over every worker), and installs the snapshot's filter
// chain on each new connection.
class ActiveListener {
 public:
  ActiveListener(Worker& worker, int listen_fd, ListenerSnapshotConstSharedPtr listener);
  ~ActiveListener();
  ActiveListener(const ActiveListener&) = delete;
  ActiveListener& operator=(const ActiveListener&) = delete;

  const ListenerSnapshot& listener() const { return *listener_; }
  // A reload kept this listener's socket: new connections get `listener`'s chain.
  void update(ListenerSnapshotConstSharedPtr listener);

 private:
  void onAccept(int fd, const network::Address& remote);

  Worker& worker_;
  ListenerSnapshotConstSharedPtr listener_;
  network::Address local_address_;
  network::ListenerImpl listener_impl_;
  // Last: made once nothing else can throw, so it is always released.
  ListenerConnectionCount& count_;
};

}  // namespace proxy::server
