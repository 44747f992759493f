#include "common/upstream/cluster_impl.h"

#include <algorithm>
#include <unordered_map>

#include "common/network/socket_util.h"

namespace proxy::upstream {
namespace {

// Where each cluster's rotation stands on this thread, by cluster name: no state shared
// between workers, and a cluster rebuilt by a reload keeps its place.
thread_local std::unordered_map<std::string, size_t> rotation;

bool excluded(const Host* host, std::span<const Host* const> exclude) {
  return std::find(exclude.begin(), exclude.end(), host) != exclude.end();
}

}  // namespace

Resolver systemResolver() {
  return
      [](const std::string& host, uint16_t port) { return network::resolveAddresses(host, port); };
}

Resolver literalResolver() {
  return [](const std::string& host, uint16_t port) {
    return network::resolvesWithoutLookup(host) ? network::resolveAddresses(host, port)
                                                : std::vector<network::Address>{};
  };
}

ClusterImpl::ClusterImpl(std::string name, const std::vector<Endpoint>& endpoints,
                         ClusterSettings settings)
    : name_(std::move(name)), settings_(std::move(settings)) {
  auto health = std::make_shared<const PassiveHealth>(settings_.health);
  for (const Endpoint& endpoint : endpoints) {
    auto host = std::make_shared<HostImpl>(endpoint.host, endpoint.port, endpoint.tls,
                                           endpoint.address, health);
    host_impls_.push_back(host);
    hosts_.push_back(host);
  }
}

ClusterImpl::ClusterImpl(std::string name, const std::vector<Endpoint>& endpoints,
                         std::chrono::milliseconds connect_timeout,
                         network::TransportSocketFactoryConstSharedPtr tls_context)
    : ClusterImpl(std::move(name), endpoints, [connect_timeout, &tls_context] {
        ClusterSettings settings;
        settings.connect_timeout = connect_timeout;
        settings.tls_context = std::move(tls_context);
        return settings;
      }()) {}

std::shared_ptr<ClusterImpl> ClusterImpl::create(std::string name,
                                                 const std::vector<Endpoint>& endpoints,
                                                 ClusterSettings settings, stats::Scope& scope,
                                                 const Resolver& resolver) {
  const stats::Labels labels{{"cluster", name}};
  settings.health.ejections =
      &scope.counter("proxy_upstream_endpoint_ejections_total",
                     "Endpoints ejected after consecutive connect failures.", labels);
  auto cluster = std::make_shared<ClusterImpl>(std::move(name), endpoints, std::move(settings));
  cluster->refreshDns(resolver, std::chrono::steady_clock::now());
  // Computed at each scrape; a cluster a reload dropped reads 0 (the gauge stays until the
  // name is configured again).
  std::weak_ptr<const ClusterImpl> weak = cluster;
  scope.computedGauge(
      "proxy_upstream_endpoints_healthy",
      "Endpoints of the cluster that are resolved and not ejected.", labels, [weak] {
        auto alive = weak.lock();
        return alive == nullptr ? 0.0 : static_cast<double>(alive->healthyHostCount());
      });
  return cluster;
}

std::vector<std::string> ClusterImpl::refreshDns(const Resolver& resolver, MonotonicTime now) {
  std::vector<std::string> changes;
  for (const auto& host : hostsToResolve()) {
    if (std::string change = applyResolution(*host, resolver(host->hostname(), host->port()));
        !change.empty()) {
      changes.push_back(std::move(change));
    }
  }
  scheduleNextRefresh(now);
  return changes;
}

std::vector<std::shared_ptr<HostImpl>> ClusterImpl::hostsToResolve() const {
  std::vector<std::shared_ptr<HostImpl>> hosts;
  for (const auto& host : host_impls_) {
    if (!host->ipLiteral() || !host->address().valid()) {
      hosts.push_back(host);
    }
  }
  return hosts;
}

void ClusterImpl::scheduleNextRefresh(MonotonicTime now) {
  next_dns_refresh_ = settings_.dns_refresh_interval.count() > 0
                          ? now + settings_.dns_refresh_interval
                          : MonotonicTime::max();
}

std::string ClusterImpl::applyResolution(HostImpl& host, std::vector<network::Address> addresses) {
  if (addresses.empty()) {
    return {};  // a DNS outage must not take a working upstream away
  }
  const std::vector<network::Address> before = host.addresses();
  if (!host.setAddresses(std::move(addresses))) {
    return {};
  }
  return host.hostname() + ":" + std::to_string(host.port()) + ": " + addressList(before) + " -> " +
         addressList(host.addresses());
}

std::string addressList(const std::vector<network::Address>& addresses) {
  if (addresses.empty()) {
    return "-";
  }
  std::string text;
  for (const network::Address& address : addresses) {
    text.append(text.empty() ? "" : ",").append(address.asString());
  }
  return text;
}

size_t ClusterImpl::healthyHostCount() const {
  return static_cast<size_t>(std::count_if(hosts_.begin(), hosts_.end(), [](const auto& host) {
    return host->healthy() && host->address().valid();
  }));
}

HostChoice ClusterImpl::chooseHost(std::span<const Host* const> exclude) const {
  const size_t count = hosts_.size();
  if (count == 0) {
    return {nullptr, NoHostReason::kNoHealthyHost};
  }
  size_t& next = rotation[name_];
  bool unresolved = false;
  size_t best = count;  // none yet
  uint64_t best_load = 0;
  for (size_t i = 0; i < count; ++i) {
    const size_t index = (next + i) % count;
    const Host& host = *hosts_[index];
    if (!host.healthy() || excluded(&host, exclude)) {
      continue;
    }
    if (!host.address().valid()) {
      unresolved = true;
      continue;
    }
    if (settings_.lb_policy == LbPolicy::kRoundRobin) {
      best = index;
      break;
    }
    // least_request: the first (in rotation order) of the least loaded.
    const uint64_t load = host.activeRequests();
    if (best == count || load < best_load) {
      best = index;
      best_load = load;
    }
  }
  if (best == count) {
    return {nullptr, unresolved ? NoHostReason::kUnresolved : NoHostReason::kNoHealthyHost};
  }
  next = (best + 1) % count;
  return {hosts_[best], NoHostReason::kNone};
}

}  // namespace proxy::upstream
