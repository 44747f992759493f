#pragma once

#include <Poco/Logger.h>

#include <atomic>
#include <memory>
#include <vector>

#include "admin/admin_server.h"
#include "common/stats/store_impl.h"
#include "server/config/config_model.h"
#include "server/listener_manager.h"
#include "server/snapshot.h"
#include "server/worker.h"

namespace proxy::server {

// The running proxy: workers, listeners, the admin API, and the main thread's signal
// loop. Signals must already be blocked in every thread (see blockServerSignals()).
class Server {
 public:
  Server(Config config, Poco::Logger& logger);
  ~Server();

  // Builds the snapshot, binds every socket and starts the workers and the admin API.
  // Throws ConfigFileError (bad filter config, address in use) before accepting anything.
  void start();
  // Waits for SIGTERM/SIGINT/SIGQUIT, then drains (CONTRACT.md §7) and returns the exit
  // code.
  int waitForShutdown();

 private:
  void shutdown();

  Config config_;
  Poco::Logger& logger_;
  std::unique_ptr<stats::StoreImpl> store_;
  SnapshotConstSharedPtr snapshot_;
  std::vector<std::unique_ptr<Worker>> workers_;
  ListenerManager listener_manager_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::atomic<bool> ready_{false};
};

// Blocks SIGINT, SIGTERM, SIGQUIT and SIGHUP in the calling thread (and the threads it
// starts later) so that only the main thread's sigwait() sees them; ignores SIGPIPE.
void blockServerSignals();

}  // namespace proxy::server
