#pragma once

#include <Poco/Logger.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/event/dispatcher.h"
#include "api/event/timer.h"
#include "common/upstream/cluster_impl.h"
#include "server/async_resolver.h"
#include "server/snapshot.h"

namespace proxy::server {

// Keeps the current snapshot's endpoint addresses current: each cluster's names are looked
// up again at its dns_refresh_interval, from a timer on the main thread's event loop. The
// lookups run on the AsyncResolver's threads, so a name that times out never holds up the
// main loop (signals, reloads, the admin API) and workers keep serving with the addresses
// they have; results are applied on the main thread (ClusterImpl::applyResolution()). A
// name whose lookup is still out is not asked again. The snapshot is looked up at every
// tick, so after a reload the new clusters are the ones refreshed. A reload resolves its new
// names through resolve() before it applies.
class DnsRefresher {
 public:
  // The timer wakes at least this often to look at the current snapshot's due times.
  static constexpr std::chrono::milliseconds kMaxTick{1000};
  static constexpr std::chrono::milliseconds kMinTick{50};

  DnsRefresher(event::Dispatcher& main_dispatcher, std::function<SnapshotConstSharedPtr()> current,
               AsyncResolver& resolver, Poco::Logger& logger);

  // Arms the timer. Main thread.
  void start();
  void stop() { timer_.reset(); }

  // Asks for a lookup of every name of the clusters of `snapshot` whose refresh is due at
  // `now`; returns the earliest next due time (MonotonicTime::max() if none). Main thread.
  upstream::MonotonicTime refreshDue(const Snapshot& snapshot, upstream::MonotonicTime now);
  // A host and the name of its cluster (for the log line of a change).
  struct ClusterHost {
    std::string cluster;
    std::shared_ptr<upstream::HostImpl> host;
  };
  // The hosts of `snapshot`'s clusters that are not in `running`'s (a reload's new ones)
  // and have a name to look up.
  static std::vector<ClusterHost> newHostsToResolve(const Snapshot& snapshot,
                                                    const Snapshot& running);

  // Looks up every one of `hosts` now and calls `done` on the main thread once all of them
  // have their answer applied (at once when `hosts` is empty). Main thread.
  void resolve(const std::vector<ClusterHost>& hosts, std::function<void()> done);

 private:
  void onTimer();
  // Asks for a lookup of `host` unless one is out; `then` runs after its answer is applied.
  void lookUp(const ClusterHost& host, std::function<void()> then);

  event::Dispatcher& main_dispatcher_;
  const std::function<SnapshotConstSharedPtr()> current_;
  AsyncResolver& resolver_;
  Poco::Logger& logger_;
  event::TimerPtr timer_;
  // Hosts whose lookup is out, with what waits for it; main thread only.
  std::unordered_map<const upstream::HostImpl*, std::vector<std::function<void()>>> pending_;
};

}  // namespace proxy::server
