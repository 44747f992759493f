#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/network/socket_util.h"
#include "server/snapshot.h"
#include "server/worker.h"

namespace proxy::server {

// Owns the listen sockets (one per listener, shared by every worker) and hands them to
// the workers. Binding happens on the main thread before any worker accepts, so an
// address in use is a start-up (or reload) error with the listener's position in the config.
class ListenerManager {
 public:
  ~ListenerManager();

  // Binds every listener of `snapshot`. Throws ConfigFileError naming the listener.
  void bind(const Snapshot& snapshot);
  // Starts accepting on every worker.
  void start(const Snapshot& snapshot, std::vector<std::unique_ptr<Worker>>& workers);

  // Reload, step 1: binds the listeners of `next` that do not keep a socket of `running`.
  // Throws ConfigFileError naming the listener, having closed what it bound: nothing changes.
  void prepare(const Snapshot& running, const Snapshot& next);
  // Reload, step 2: every worker switches to `next` (Worker::applySnapshot), waiting until
  // each has; then the sockets of listeners `next` no longer has are closed.
  void apply(const Snapshot& running, SnapshotConstSharedPtr next,
             std::vector<std::unique_ptr<Worker>>& workers,
             std::chrono::milliseconds drain_timeout);

  // Stops accepting on every worker (waiting until each has) and closes the sockets.
  // Connections already accepted are not touched.
  void stopAccepting(std::vector<std::unique_ptr<Worker>>& workers);

  // The address listener `name` is bound to ("127.0.0.1:8021", the real port when 0 was
  // asked for); empty if there is no such listener.
  std::string boundAddress(const std::string& name) const;

 private:
  // Posts `post(worker, done)` to every worker and waits until each has run `done`.
  static void onEveryWorker(std::vector<std::unique_ptr<Worker>>& workers,
                            const std::function<void(Worker&, std::function<void()>)>& post);
  void bindInto(const Snapshot& snapshot, const std::vector<std::string>& names,
                std::map<std::string, network::ListenSocket>& into);
  static void closeSockets(std::map<std::string, network::ListenSocket>& sockets);

  std::map<std::string, network::ListenSocket> sockets_;  // by listener name
  std::map<std::string, network::ListenSocket> pending_;  // bound by prepare()
};

}  // namespace proxy::server
