#include "server/dns_refresher.h"

#include <algorithm>

namespace proxy::server {

DnsRefresher::DnsRefresher(event::Dispatcher& main_dispatcher,
                           std::function<SnapshotConstSharedPtr()> current,
                           upstream::Resolver resolver, Poco::Logger& logger)
    : main_dispatcher_(main_dispatcher),
      current_(std::move(current)),
      resolver_(std::move(resolver)),
      logger_(logger) {}

void DnsRefresher::start() {
  timer_ = main_dispatcher_.createTimer([this] { onTimer(); });
  timer_->enableTimer(kMaxTick);
}

upstream::MonotonicTime DnsRefresher::refreshDns(const Snapshot& snapshot,
                                                 const upstream::Resolver& resolver,
                                                 upstream::MonotonicTime now,
                                                 Poco::Logger* logger) {
  upstream::MonotonicTime next = upstream::MonotonicTime::max();
  for (const auto& cluster : snapshot.clusters->all()) {
    if (cluster->nextDnsRefresh() <= now) {
      for (const std::string& change : cluster->refreshDns(resolver, now)) {
        if (logger != nullptr) {
          logger->information("cluster " + cluster->name() + ": " + change);
        }
      }
    }
    next = std::min(next, cluster->nextDnsRefresh());
  }
  return next;
}

void DnsRefresher::onTimer() {
  SnapshotConstSharedPtr snapshot = current_();
  std::chrono::milliseconds wait = kMaxTick;
  if (snapshot != nullptr) {
    const upstream::MonotonicTime now = std::chrono::steady_clock::now();
    const upstream::MonotonicTime next = refreshDns(*snapshot, resolver_, now, &logger_);
    if (next != upstream::MonotonicTime::max()) {
      // Measured after the lookups, which may have taken a while.
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(
          next - std::chrono::steady_clock::now());
      wait = std::clamp(until, kMinTick, kMaxTick);
    }
  }
  timer_->enableTimer(wait);
}

}  // namespace proxy::server
