#include "server/dns_refresher.h"

#include <algorithm>

namespace proxy::server {

DnsRefresher::DnsRefresher(event::Dispatcher& main_dispatcher,
                           std::function<SnapshotConstSharedPtr()> current, AsyncResolver& resolver,
                           Poco::Logger& logger)
    : main_dispatcher_(main_dispatcher),
      current_(std::move(current)),
      resolver_(resolver),
      logger_(logger) {}

void DnsRefresher::start() {
  timer_ = main_dispatcher_.createTimer([this] { onTimer(); });
  timer_->enableTimer(kMaxTick);
}

upstream::MonotonicTime DnsRefresher::refreshDue(const Snapshot& snapshot,
                                                 upstream::MonotonicTime now) {
  upstream::MonotonicTime next = upstream::MonotonicTime::max();
  for (const auto& cluster : snapshot.clusters->all()) {
    if (cluster->nextDnsRefresh() <= now) {
      for (const auto& host : cluster->hostsToResolve()) {
        lookUp(ClusterHost{cluster->name(), host}, nullptr);
      }
      cluster->scheduleNextRefresh(now);
    }
    next = std::min(next, cluster->nextDnsRefresh());
  }
  return next;
}

std::vector<DnsRefresher::ClusterHost> DnsRefresher::newHostsToResolve(const Snapshot& snapshot,
                                                                       const Snapshot& running) {
  std::vector<ClusterHost> hosts;
  const auto& kept = running.clusters->all();
  for (const auto& cluster : snapshot.clusters->all()) {
    if (std::find(kept.begin(), kept.end(), cluster) != kept.end()) {
      continue;  // the running object: its names are resolved already, and refreshed
    }
    for (const auto& host : cluster->hostsToResolve()) {
      hosts.push_back(ClusterHost{cluster->name(), host});
    }
  }
  return hosts;
}

void DnsRefresher::resolve(const std::vector<ClusterHost>& hosts, std::function<void()> done) {
  if (hosts.empty()) {
    done();
    return;
  }
  auto left = std::make_shared<size_t>(hosts.size());
  auto finish = [left, done = std::move(done)] {
    if (--*left == 0) {
      done();
    }
  };
  for (const auto& host : hosts) {
    lookUp(host, finish);
  }
}

void DnsRefresher::lookUp(const ClusterHost& named, std::function<void()> then) {
  const std::shared_ptr<upstream::HostImpl>& host = named.host;
  auto [it, first] = pending_.try_emplace(host.get());
  if (then) {
    it->second.push_back(std::move(then));
  }
  if (!first) {
    return;  // one lookup at a time per name: a slow resolver is not asked again
  }
  resolver_.resolve(host->hostname(), host->port(),
                    [this, host, cluster = named.cluster](std::vector<network::Address> addresses) {
                      const std::string change =
                          upstream::ClusterImpl::applyResolution(*host, std::move(addresses));
                      if (!change.empty()) {
                        logger_.information("cluster " + cluster + ": " + change);
                      }
                      auto waiting = pending_.extract(host.get());
                      for (auto& callback : waiting.mapped()) {
                        callback();
                      }
                    });
}

void DnsRefresher::onTimer() {
  SnapshotConstSharedPtr snapshot = current_();
  std::chrono::milliseconds wait = kMaxTick;
  if (snapshot != nullptr) {
    const upstream::MonotonicTime now = std::chrono::steady_clock::now();
    const upstream::MonotonicTime next = refreshDue(*snapshot, now);
    if (next != upstream::MonotonicTime::max()) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(next - now);
      wait = std::clamp(until, kMinTick, kMaxTick);
    }
  }
  timer_->enableTimer(wait);
}

}  // namespace proxy::server
