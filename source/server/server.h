#pragma once

#include <Poco/Logger.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "admin/admin_server.h"
#include "common/event/dispatcher_impl.h"
#include "common/stats/store_impl.h"
#include "server/async_resolver.h"
#include "server/config/config_model.h"
#include "server/config_diff.h"
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
  // SIGTERM/SIGINT/SIGQUIT, then drains (docs/behaviour.md §7) and returns the exit code.
  int waitForShutdown();

  // The snapshot new traffic is routed by; any thread (the admin API asks it).
  SnapshotConstSharedPtr currentSnapshot() const;

  // The main thread's loop: config work (reload, DNS) runs here, never on a worker.
  event::Dispatcher& mainDispatcher() { return main_dispatcher_; }
  // Any thread: runs `fn` on the main thread soon; false (and `fn` dropped) once the main
  // loop has ended (shutting down).
  bool postToMainThread(std::function<void()> fn);

  // The answer to a reload: HTTP status and JSON body for /reload, and one line for the log.
  struct ReloadResult {
    bool ok = false;
    uint64_t generation = 0;
    std::string json;
    std::string log_line;
  };
  using ReloadDone = std::function<void(const ReloadResult&)>;
  // Main thread (SIGHUP comes here; the admin API through postToMainThread()): reads the config
  // file again, validates it, builds the new snapshot, has its new names looked up off the
  // main thread (the loop goes on meanwhile: signals, other admin requests), binds new
  // listeners and applies it (docs/architecture.md, Reload); then `done` runs on the main
  // thread with the answer. On any error the running config is untouched. Reloads never
  // overlap: one asked for while another runs starts when it ends (all those asked for
  // meanwhile are answered by that one), reading the file then.
  void reload(ReloadDone done);
  // Main thread: the running config with its generation and bound addresses, as JSON (the
  // canonical form's structure) or, with `yaml`, as YAML.
  std::string configDump(bool yaml) const;
  // Main thread.
  uint64_t generation() const { return snapshot_->generation; }

 private:
  // A reload between reading the file and applying it: the config, what changed, and the
  // snapshot built from it (its new names not looked up yet).
  struct StagedReload {
    Config config;
    ConfigDiff diff;
    SnapshotConstSharedPtr next;
  };

  static std::shared_ptr<const admin::AdminAccessPolicy> accessPolicy(const Config& config);
  void onSignal(int signal_number);
  void shutdown();
  ReloadResult refuseReload(const std::string& error);
  // Starts a reload for everyone queued, if there is anyone and none runs.
  void startQueuedReload();
  // Reads and checks the file and builds the snapshot; false (and `refused`) on an error.
  bool stageReload(StagedReload& staged, ReloadResult& refused);
  // Binds the new listeners and switches every worker to the staged snapshot.
  ReloadResult applyStagedReload(StagedReload& staged);
  // The running reload is over: plugins committed or rolled back, its waiters answered,
  // and the next queued one started.
  void finishReload(const ReloadResult& result);
  // Shutting down: every reload running or queued is answered "shutting down".
  void abandonReloads();

  Config config_;
  Poco::Logger& logger_;
  event::DispatcherImpl main_dispatcher_{"main"};
  std::unique_ptr<stats::StoreImpl> store_;
  SnapshotConstSharedPtr snapshot_;
  std::vector<std::unique_ptr<Worker>> workers_;
  ListenerManager listener_manager_;
  std::unique_ptr<admin::AdminServer> admin_;
  // Name lookups off the main thread, and the refreshes (and reloads) that use them.
  std::unique_ptr<AsyncResolver> resolver_;
  std::unique_ptr<DnsRefresher> dns_refresher_;
  // Reloads: the one running (its waiters and staged state) and those asked for since.
  bool reloading_ = false;
  bool shutting_down_ = false;
  std::vector<ReloadDone> reload_waiters_;
  std::vector<ReloadDone> queued_reloads_;
  std::shared_ptr<StagedReload> staged_;
  std::atomic<bool> ready_{false};
  std::function<void(Config&)> overrides_;
  stats::Gauge* generation_gauge_ = nullptr;
  PluginLoader* plugins_ = nullptr;
  stats::Counter* reloads_ok_ = nullptr;
  stats::Counter* reloads_failed_ = nullptr;
  // Guards posting to the main loop against its end (postToMainThread).
  std::mutex main_loop_mutex_;
  // Guards snapshot_ between the main thread (writes, at reload) and currentSnapshot().
  mutable std::mutex snapshot_mutex_;
  bool main_loop_open_ = true;
};

// Blocks SIGINT, SIGTERM, SIGQUIT, SIGHUP and SIGUSR1 in the calling thread (and the threads
// it starts later) so that only the main thread's sigwait() sees them; ignores SIGPIPE.
void blockServerSignals();

}  // namespace proxy::server
