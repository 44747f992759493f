#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/event/dispatcher_impl.h"
#include "server/active_connection.h"
#include "server/active_listener.h"
#include "server/snapshot.h"

namespace proxy::server {

// One thread running one event loop. It owns its listeners' accept side and every
// connection accepted on it; the main thread talks to it only by posting closures.
class Worker {
 public:
  explicit Worker(uint32_t index);
  ~Worker();

  uint32_t index() const { return index_; }
  event::DispatcherImpl& dispatcher() { return dispatcher_; }

  void start();
  // Ends the loop and joins the thread; connections still open are closed first.
  void stop();

  // Main thread: starts accepting on `listen_fd` (shared with the other workers).
  void addListener(int listen_fd, ListenerSnapshotConstSharedPtr listener);
  // Main thread, at reload: switches to `next`. Listeners that keep their socket take its
  // chain for new connections, those `next` no longer has stop accepting, new ones start on
  // `listen_fds` (by listener name); open connections are kept or drained as planConnection()
  // says, drained ones closed after `drain_timeout` at the latest. Then runs `done` on the
  // worker.
  void applySnapshot(SnapshotConstSharedPtr next, std::map<std::string, int> listen_fds,
                     std::chrono::milliseconds drain_timeout, std::function<void()> done);
  // Main thread: stops accepting everywhere, then runs `done` on the worker.
  void stopListeners(std::function<void()> done);
  // Main thread: tells every open connection the proxy is draining (HTTP connections close
  // once their request in flight is answered; TCP connections carry on).
  void drainConnections();
  // Main thread: closes every open connection now.
  void closeAllConnections();

  // Any thread: connections open on this worker (written only by the worker).
  uint64_t openConnections() const { return open_connections_.load(std::memory_order_relaxed); }

  // Worker thread, for ActiveListener and ActiveConnection.
  void addConnection(network::ConnectionPtr connection, ListenerSnapshotConstSharedPtr listener,
                     ListenerConnectionCount& count);
  void removeConnection(ActiveConnection& connection);

 private:
  void run();
  void closeConnections(std::string_view reason);

  const uint32_t index_;
  event::DispatcherImpl dispatcher_;
  std::thread thread_;
  std::vector<std::unique_ptr<ActiveListener>> listeners_;
  // Every open connection, owned by the worker, linked through their prev_/next_.
  ActiveConnection* connections_ = nullptr;
  uint64_t connection_count_ = 0;
  std::atomic<uint64_t> open_connections_{0};
};

}  // namespace proxy::server
