#pragma once

#include <Poco/Logger.h>

#include <chrono>
#include <functional>

#include "api/event/dispatcher.h"
#include "api/event/timer.h"
#include "common/upstream/cluster_impl.h"
#include "server/snapshot.h"

namespace proxy::server {

// Re-resolves the names of the current snapshot's clusters (configured and inline targets),
// each at its dns_refresh_interval, from a timer on the main thread's event loop: workers
// never resolve. Each lookup is a blocking getaddrinfo, so the main loop waits on it (at most
// the resolver's timeout × attempts per name, from resolv.conf); workers keep serving with the
// addresses they have. The snapshot is looked up at every tick, so after a reload the new
// clusters are the ones refreshed.
class DnsRefresher {
 public:
  // The timer wakes at least this often to look at the current snapshot's due times.
  static constexpr std::chrono::milliseconds kMaxTick{1000};
  static constexpr std::chrono::milliseconds kMinTick{50};

  DnsRefresher(event::Dispatcher& main_dispatcher, std::function<SnapshotConstSharedPtr()> current,
               upstream::Resolver resolver, Poco::Logger& logger);

  // Arms the timer. Main thread.
  void start();
  void stop() { timer_.reset(); }

  // Refreshes every cluster of `snapshot` whose refresh is due at `now`; returns the earliest
  // next due time (MonotonicTime::max() if none). Main thread.
  static upstream::MonotonicTime refreshDns(const Snapshot& snapshot,
                                            const upstream::Resolver& resolver,
                                            upstream::MonotonicTime now, Poco::Logger* logger);

 private:
  void onTimer();

  event::Dispatcher& main_dispatcher_;
  const std::function<SnapshotConstSharedPtr()> current_;
  const upstream::Resolver resolver_;
  Poco::Logger& logger_;
  event::TimerPtr timer_;
};

}  // namespace proxy::server
