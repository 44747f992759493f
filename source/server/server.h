#pragma once

#include <Poco/Logger.h>

#include <atomic>
#include <future>
#include <memory>
#include <vector>

#include "admin/admin_server.h"
#include "common/event/dispatcher_impl.h"
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
  // Runs the main thread's event loop (signals, and whatever is posted to it) until
  // SIGTERM/SIGINT/SIGQUIT, then drains (CONTRACT.md §7) and returns the exit code.
  int waitForShutdown();

  // The snapshot new traffic is routed by; any thread (the admin API asks it).
  SnapshotConstSharedPtr currentSnapshot() const;

  // The main thread's loop: config work (reload, DNS) runs here, never on a worker.
  event::Dispatcher& mainDispatcher() { return main_dispatcher_; }
  // Any thread but the main one: runs `fn` on the main thread and waits for its result.
  template <typename Fn>
  auto runOnMainThread(Fn fn) -> decltype(fn());

 private:
  void onSignal(int signal_number);
  void shutdown();

  Config config_;
  Poco::Logger& logger_;
  event::DispatcherImpl main_dispatcher_{"main"};
  std::unique_ptr<stats::StoreImpl> store_;
  SnapshotConstSharedPtr snapshot_;
  std::vector<std::unique_ptr<Worker>> workers_;
  ListenerManager listener_manager_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::atomic<bool> ready_{false};
};

template <typename Fn>
auto Server::runOnMainThread(Fn fn) -> decltype(fn()) {
  using Result = decltype(fn());
  auto task = std::make_shared<std::packaged_task<Result()>>(std::move(fn));
  std::future<Result> result = task->get_future();
  main_dispatcher_.post([task] { (*task)(); });
  return result.get();
}

// Blocks SIGINT, SIGTERM, SIGQUIT and SIGHUP in the calling thread (and the threads it
// starts later) so that only the main thread's sigwait() sees them; ignores SIGPIPE.
void blockServerSignals();

}  // namespace proxy::server
