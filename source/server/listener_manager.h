#pragma once

#include <memory>
#include <vector>

#include "common/network/socket_util.h"
#include "server/snapshot.h"
#include "server/worker.h"

namespace proxy::server {

// Owns the listen sockets (one per listener, shared by every worker) and hands them to
// the workers. Binding happens on the main thread before any worker accepts, so an
// address in use is a start-up error with the listener's position in the config.
class ListenerManager {
 public:
  ~ListenerManager();

  // Binds every listener of `snapshot`. Throws ConfigFileError naming the listener.
  void bind(const Snapshot& snapshot);
  // Starts accepting on every worker.
  void start(const Snapshot& snapshot, std::vector<std::unique_ptr<Worker>>& workers);
  // Stops accepting on every worker (waiting until each has) and closes the sockets.
  // Connections already accepted are not touched.
  void stopAccepting(std::vector<std::unique_ptr<Worker>>& workers);

  // The bound addresses, in listener order.
  const std::vector<network::ListenSocket>& sockets() const { return sockets_; }

 private:
  void closeSockets();

  std::vector<network::ListenSocket> sockets_;
};

}  // namespace proxy::server
