#pragma once

#include <Poco/Logger.h>

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "admin/admin_server.h"
#include "common/event/dispatcher_impl.h"
#include "common/stats/store_impl.h"
#include "server/config/config_model.h"
#include "server/dns_refresher.h"
#include "server/listener_manager.h"
#include "server/snapshot.h"
#include "server/worker.h"

namespace proxy::server {

class PluginLoader;

// The running proxy: workers, listeners, the admin API, and the main thread's signal
// loop. Signals must already be blocked in every thread (see blockServerSignals()).
class Server {
 public:
  Server(Config config, Poco::Logger& logger);
  ~Server();

  // Settings given on the command line, applied to every config a reload reads.
  void setCommandLineOverrides(std::function<void(Config&)> overrides) {
    overrides_ = std::move(overrides);
  }

  // The loader the start-up config's plugins were committed by; a reload stages the plugins
  // it lists through it. Without one, a reload loads no plugin.
  void setPluginLoader(PluginLoader* plugins) { plugins_ = plugins; }

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
  // Throws std::runtime_error once the main loop has ended (shutting down).
  template <typename Fn>
  auto runOnMainThread(Fn fn) -> decltype(fn());

  // The answer to a reload: HTTP status and JSON body for /reload, and one line for the log.
  struct ReloadResult {
    bool ok = false;
    uint64_t generation = 0;
    std::string json;
    std::string log_line;
  };
  // Main thread (the admin API and SIGHUP come here): reads the config file again, validates
  // it, builds the new snapshot, binds new listeners and applies it (CONTRACT.md §7). On any
  // error the running config is untouched. Reloads never overlap: they all run on this thread.
  ReloadResult reload();
  // Main thread: the running config with its generation and bound addresses, as JSON (the
  // canonical form's structure) or, with `yaml`, as YAML.
  std::string configDump(bool yaml) const;
  // Main thread.
  uint64_t generation() const { return snapshot_->generation; }

 private:
  void onSignal(int signal_number);
  void shutdown();
  ReloadResult refuseReload(const std::string& error);
  ReloadResult tryReload();

  Config config_;
  Poco::Logger& logger_;
  event::DispatcherImpl main_dispatcher_{"main"};
  std::unique_ptr<stats::StoreImpl> store_;
  SnapshotConstSharedPtr snapshot_;
  std::vector<std::unique_ptr<Worker>> workers_;
  ListenerManager listener_manager_;
  std::unique_ptr<admin::AdminServer> admin_;
  // Re-resolves the current snapshot's cluster names on the main loop.
  std::unique_ptr<DnsRefresher> dns_refresher_;
  std::atomic<bool> ready_{false};
  std::function<void(Config&)> overrides_;
  stats::Gauge* generation_gauge_ = nullptr;
  PluginLoader* plugins_ = nullptr;
  stats::Counter* reloads_ok_ = nullptr;
  stats::Counter* reloads_failed_ = nullptr;
  // Guards posting to the main loop against its end (runOnMainThread).
  std::mutex main_loop_mutex_;
  // Guards snapshot_ between the main thread (writes, at reload) and currentSnapshot().
  mutable std::mutex snapshot_mutex_;
  bool main_loop_open_ = true;
};

template <typename Fn>
auto Server::runOnMainThread(Fn fn) -> decltype(fn()) {
  using Result = decltype(fn());
  auto task = std::make_shared<std::packaged_task<Result()>>(std::move(fn));
  std::future<Result> result = task->get_future();
  {
    std::lock_guard<std::mutex> lock(main_loop_mutex_);
    if (!main_loop_open_) {
      throw std::runtime_error("shutting down");
    }
    main_dispatcher_.post([task] { (*task)(); });
  }
  return result.get();
}

// Blocks SIGINT, SIGTERM, SIGQUIT, SIGHUP and SIGUSR1 in the calling thread (and the threads
// it starts later) so that only the main thread's sigwait() sees them; ignores SIGPIPE.
void blockServerSignals();

}  // namespace proxy::server
