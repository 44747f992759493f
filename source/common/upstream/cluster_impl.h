#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/stats/stats.h"
#include "api/upstream/cluster.h"
#include "common/upstream/host_impl.h"

namespace proxy::upstream {

enum class LbPolicy { kRoundRobin, kLeastRequest };

// Resolves a name to addresses, best first; empty when it does not resolve. Blocking
// (getaddrinfo): main thread only. Tests hand in their own.
using Resolver =
    std::function<std::vector<network::Address>(const std::string& host, uint16_t port)>;

// network::resolveAddresses: getaddrinfo, bounded only by the resolver's own timeouts
// (resolv.conf `timeout` and `attempts`).
Resolver systemResolver();
// systemResolver() for IP literals and localhost, which need no lookup; nothing for other
// names, so that building a cluster never blocks (a reload has them looked up afterwards).
Resolver literalResolver();

// "10.0.0.1:80,[::1]:80"; "-" for none.
std::string addressList(const std::vector<network::Address>& addresses);

struct ClusterSettings {
  std::chrono::milliseconds connect_timeout{5000};
  LbPolicy lb_policy = LbPolicy::kRoundRobin;
  PassiveHealth health;
  // How often the main thread re-resolves the hosts' names; zero: only when built.
  std::chrono::milliseconds dns_refresh_interval{30000};
  // Secures connections to the https hosts; nullptr when no host is https.
  network::TransportSocketFactoryConstSharedPtr tls_context;
};

// A cluster as configured: its hosts (fixed), their live addresses and health, and the load
// balancing policy. Built on the main thread, which alone re-resolves names (refreshDns());
// chooseHost() runs on any worker. Round robin keeps one rotation per thread and cluster
// name, so a worker's picks are deterministic and workers share nothing.
class ClusterImpl final : public Cluster {
 public:
  // Hosts from `endpoints` with the addresses they carry (invalid: not resolved yet).
  ClusterImpl(std::string name, const std::vector<Endpoint>& endpoints, ClusterSettings settings);
  ClusterImpl(std::string name, const std::vector<Endpoint>& endpoints,
              std::chrono::milliseconds connect_timeout,
              network::TransportSocketFactoryConstSharedPtr tls_context = nullptr);

  // Builds a cluster with its metrics in `scope` (ejections counted, healthy hosts computed
  // at each scrape) and its names resolved once. Main thread, config time.
  static std::shared_ptr<ClusterImpl> create(std::string name,
                                             const std::vector<Endpoint>& endpoints,
                                             ClusterSettings settings, stats::Scope& scope,
                                             const Resolver& resolver);

  // Main thread. Resolves every name (IP literals only until they have an address) and sets
  // the next refresh time. Returns one line per change (see applyResolution()).
  std::vector<std::string> refreshDns(const Resolver& resolver, MonotonicTime now);
  // Main thread. Gives `host` (one of this cluster's) the addresses a lookup found. A name
  // that stops resolving keeps its last addresses (a DNS outage must not take a working
  // upstream away); a host whose current address is still among the answers keeps it
  // (connections are pooled per address). Returns "host:port: old -> new" when the list
  // changed, for the log, else an empty string.
  static std::string applyResolution(HostImpl& host, std::vector<network::Address> addresses);
  // The hosts a refresh looks up: every named one, and an IP literal until it has its
  // address.
  std::vector<std::shared_ptr<HostImpl>> hostsToResolve() const;
  // The next refresh is due a dns_refresh_interval after `now` (never for zero). Main thread.
  void scheduleNextRefresh(MonotonicTime now);
  // When the next refresh is due; MonotonicTime::max() for never.
  MonotonicTime nextDnsRefresh() const { return next_dns_refresh_; }

  const ClusterSettings& settings() const { return settings_; }
  // Hosts that are resolved and not ejected now.
  size_t healthyHostCount() const;
  const std::vector<std::shared_ptr<HostImpl>>& hostImpls() const { return host_impls_; }

  // upstream::Cluster
  const std::string& name() const override { return name_; }
  std::chrono::milliseconds connectTimeout() const override { return settings_.connect_timeout; }
  const std::vector<HostSharedPtr>& hosts() const override { return hosts_; }
  HostChoice chooseHost(std::span<const Host* const> exclude = {}) const override;
  const network::TransportSocketFactoryConstSharedPtr& tlsContext() const override {
    return settings_.tls_context;
  }

 private:
  const std::string name_;
  const ClusterSettings settings_;
  std::vector<std::shared_ptr<HostImpl>> host_impls_;
  std::vector<HostSharedPtr> hosts_;  // the same hosts, as the API hands them out
  MonotonicTime next_dns_refresh_ = MonotonicTime::max();  // main thread only
};

}  // namespace proxy::upstream
