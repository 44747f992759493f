#include "common/upstream/cluster_impl.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/stats/store_impl.h"
#include "test/support/addresses.h"

namespace proxy::upstream {
namespace {

network::Address ipv4(const char* ip, uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  inet_pton(AF_INET, ip, &sin.sin_addr);
  return network::Address(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
}

Endpoint endpoint(const std::string& host, uint16_t port, bool resolved = true) {
  Endpoint out;
  out.host = host;
  out.port = port;
  if (resolved) {
    out.address = ipv4("127.0.0.1", port);
  }
  return out;
}

// A clock the test moves by hand; starts far from zero (zero means "not ejected").
struct FakeClock {
  MonotonicTime now = MonotonicTime() + std::chrono::hours(1);
  MonotonicClock clock() {
    return [this] { return now; };
  }
};

// Names the test's resolver knows, by host; anything else does not resolve.
struct FakeDns {
  std::map<std::string, std::vector<network::Address>> names;
  int lookups = 0;
  Resolver resolver() {
    return [this](const std::string& host, uint16_t) {
      ++lookups;
      auto it = names.find(host);
      return it == names.end() ? std::vector<network::Address>{} : it->second;
    };
  }
};

// Round-robin state is per thread and per cluster name: each test uses its own names.
std::vector<uint16_t> picks(const ClusterImpl& cluster, int count) {
  std::vector<uint16_t> out;
  for (int i = 0; i < count; ++i) {
    HostChoice choice = cluster.chooseHost();
    out.push_back(choice.host == nullptr ? 0 : choice.host->port());
  }
  return out;
}

ClusterSettings settingsWith(FakeClock& clock, LbPolicy policy = LbPolicy::kRoundRobin) {
  ClusterSettings settings;
  settings.lb_policy = policy;
  settings.health.clock = clock.clock();
  settings.health.consecutive_failures = 3;
  settings.health.ejection_time = std::chrono::seconds(10);
  return settings;
}

TEST(ClusterImplTest, RoundRobinVisitsEveryHostInOrder) {
  FakeClock clock;
  ClusterImpl cluster("rr_order", {endpoint("a", 1), endpoint("b", 2), endpoint("c", 3)},
                      settingsWith(clock));
  EXPECT_EQ(picks(cluster, 7), (std::vector<uint16_t>{1, 2, 3, 1, 2, 3, 1}));
}

TEST(ClusterImplTest, RoundRobinSkipsUnresolvedHosts) {
  FakeClock clock;
  ClusterImpl cluster("rr_unresolved",
                      {endpoint("a", 1), endpoint("b", 2, false), endpoint("c", 3)},
                      settingsWith(clock));
  EXPECT_EQ(picks(cluster, 4), (std::vector<uint16_t>{1, 3, 1, 3}));
}

TEST(ClusterImplTest, EveryHostUnresolvedSaysSo) {
  FakeClock clock;
  ClusterImpl cluster("all_unresolved", {endpoint("a", 1, false), endpoint("b", 2, false)},
                      settingsWith(clock));
  HostChoice choice = cluster.chooseHost();
  EXPECT_EQ(choice.host, nullptr);
  EXPECT_EQ(choice.reason, NoHostReason::kUnresolved);

  ClusterImpl empty("no_hosts", {}, settingsWith(clock));
  EXPECT_EQ(empty.chooseHost().reason, NoHostReason::kNoHealthyHost);
}

TEST(ClusterImplTest, ExcludedHostsAreNotChosen) {
  FakeClock clock;
  ClusterImpl cluster("excluded", {endpoint("a", 1), endpoint("b", 2)}, settingsWith(clock));
  const Host* tried[] = {cluster.hosts()[0].get(), cluster.hosts()[1].get()};
  EXPECT_EQ(cluster.chooseHost(std::span<const Host* const>(tried, 1)).host->port(), 2);
  EXPECT_EQ(cluster.chooseHost(std::span<const Host* const>(tried, 1)).host->port(), 2);
  HostChoice none = cluster.chooseHost(tried);
  EXPECT_EQ(none.host, nullptr);
  EXPECT_EQ(none.reason, NoHostReason::kNoHealthyHost);
}

TEST(ClusterImplTest, LeastRequestPicksTheLeastLoaded) {
  FakeClock clock;
  ClusterImpl cluster("least", {endpoint("a", 1), endpoint("b", 2), endpoint("c", 3)},
                      settingsWith(clock, LbPolicy::kLeastRequest));
  const auto& hosts = cluster.hosts();
  hosts[0]->onRequestStart();
  hosts[0]->onRequestStart();
  hosts[2]->onRequestStart();
  // b has none: every pick goes there while the others stay busier.
  EXPECT_EQ(picks(cluster, 3), (std::vector<uint16_t>{2, 2, 2}));
  hosts[1]->onRequestStart();
  hosts[1]->onRequestStart();
  // c (1) is now the least loaded.
  EXPECT_EQ(cluster.chooseHost().host->port(), 3);
  hosts[0]->onRequestEnd();
  hosts[0]->onRequestEnd();
  EXPECT_EQ(cluster.chooseHost().host->port(), 1);
  EXPECT_EQ(hosts[0]->activeRequests(), 0u);
}

TEST(ClusterImplTest, LeastRequestTiesGoRoundRobin) {
  FakeClock clock;
  ClusterImpl cluster("least_ties", {endpoint("a", 1), endpoint("b", 2), endpoint("c", 3)},
                      settingsWith(clock, LbPolicy::kLeastRequest));
  EXPECT_EQ(picks(cluster, 4), (std::vector<uint16_t>{1, 2, 3, 1}));
}

TEST(ClusterImplTest, HostIsEjectedAfterConsecutiveFailuresAndReturnsAfterEjectionTime) {
  FakeClock clock;
  stats::StoreImpl store(1);
  ClusterSettings settings = settingsWith(clock);
  settings.health.ejections = &store.counter("ejections_total", "Ejections.");
  ClusterImpl cluster("ejection", {endpoint("a", 1), endpoint("b", 2)}, settings);
  Host& a = *cluster.hosts()[0];

  a.onConnectFailure();
  a.onConnectFailure();
  EXPECT_TRUE(a.healthy());
  a.onConnectFailure();  // the third in a row
  EXPECT_FALSE(a.healthy());
  EXPECT_EQ(store.counter("ejections_total", "Ejections.").value(), 1u);
  EXPECT_EQ(cluster.healthyHostCount(), 1u);
  EXPECT_EQ(picks(cluster, 3), (std::vector<uint16_t>{2, 2, 2}));

  // Failures of attempts started before the ejection do not extend it.
  clock.now += std::chrono::seconds(5);
  a.onConnectFailure();
  clock.now += std::chrono::seconds(5);
  EXPECT_TRUE(a.healthy());
  EXPECT_EQ(cluster.healthyHostCount(), 2u);
  EXPECT_EQ(store.counter("ejections_total", "Ejections.").value(), 1u);

  // Back, and still failing: its next failure ejects it again at once.
  a.onConnectFailure();
  EXPECT_FALSE(a.healthy());
  EXPECT_EQ(store.counter("ejections_total", "Ejections.").value(), 2u);

  // A success resets the count: it takes three failures again.
  clock.now += std::chrono::seconds(10);
  a.onConnectSuccess();
  a.onConnectFailure();
  a.onConnectFailure();
  EXPECT_TRUE(a.healthy());
  a.onConnectFailure();
  EXPECT_FALSE(a.healthy());
}

TEST(ClusterImplTest, SuccessBetweenFailuresPreventsEjection) {
  FakeClock clock;
  ClusterImpl cluster("interleaved", {endpoint("a", 1)}, settingsWith(clock));
  Host& a = *cluster.hosts()[0];
  for (int i = 0; i < 10; ++i) {
    a.onConnectFailure();
    a.onConnectFailure();
    a.onConnectSuccess();
  }
  EXPECT_TRUE(a.healthy());
}

TEST(ClusterImplTest, ZeroConsecutiveFailuresNeverEjects) {
  FakeClock clock;
  ClusterSettings settings = settingsWith(clock);
  settings.health.consecutive_failures = 0;
  ClusterImpl cluster("never_ejects", {endpoint("a", 1)}, settings);
  for (int i = 0; i < 100; ++i) {
    cluster.hosts()[0]->onConnectFailure();
  }
  EXPECT_TRUE(cluster.hosts()[0]->healthy());
}

TEST(ClusterImplTest, AllEjectedChoosesNothing) {
  FakeClock clock;
  ClusterImpl cluster("all_ejected", {endpoint("a", 1), endpoint("b", 2, false)},
                      settingsWith(clock));
  for (int i = 0; i < 3; ++i) {
    cluster.hosts()[0]->onConnectFailure();
  }
  HostChoice choice = cluster.chooseHost();
  EXPECT_EQ(choice.host, nullptr);
  // b is not ejected, only unresolved.
  EXPECT_EQ(choice.reason, NoHostReason::kUnresolved);

  ClusterImpl resolved("all_ejected_resolved", {endpoint("a", 1)}, settingsWith(clock));
  for (int i = 0; i < 3; ++i) {
    resolved.hosts()[0]->onConnectFailure();
  }
  EXPECT_EQ(resolved.chooseHost().reason, NoHostReason::kNoHealthyHost);
  clock.now += std::chrono::seconds(10);
  EXPECT_EQ(resolved.chooseHost().host, resolved.hosts()[0]);
}

TEST(ClusterImplTest, DnsRefreshResolvesSwapsAndKeepsAddresses) {
  FakeClock clock;
  FakeDns dns;
  ClusterSettings settings = settingsWith(clock);
  settings.dns_refresh_interval = std::chrono::seconds(30);
  ClusterImpl cluster(
      "dns", {endpoint("backend.test", 80, false), endpoint("127.0.0.1", 81, false)}, settings);
  const Host& named = *cluster.hosts()[0];

  // Not resolvable yet: only the literal works, and the refresh is scheduled anyway.
  dns.names["127.0.0.1"] = {ipv4("127.0.0.1", 81)};
  EXPECT_EQ(cluster.refreshDns(dns.resolver(), clock.now).size(), 1u);  // the literal
  EXPECT_TRUE(cluster.refreshDns(dns.resolver(), clock.now).empty());
  EXPECT_FALSE(named.address().valid());
  EXPECT_EQ(cluster.nextDnsRefresh(), clock.now + std::chrono::seconds(30));
  EXPECT_EQ(picks(cluster, 2), (std::vector<uint16_t>{81, 81}));

  // The name starts resolving: traffic reaches it without a rebuild.
  dns.names["backend.test"] = {ipv4("10.0.0.1", 80)};
  dns.names["127.0.0.1"] = {ipv4("10.9.9.9", 81)};  // literals are not asked again
  const int lookups = dns.lookups;
  std::vector<std::string> changes = cluster.refreshDns(dns.resolver(), clock.now);
  EXPECT_EQ(dns.lookups, lookups + 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0], "backend.test:80: - -> 10.0.0.1:80");
  EXPECT_EQ(named.address().asString(), "10.0.0.1:80");
  EXPECT_EQ(cluster.hosts()[1]->address().asString(), "127.0.0.1:81");

  // Still among the answers: kept, even if not first; the list is the resolver's.
  dns.names["backend.test"] = {ipv4("10.0.0.2", 80), ipv4("10.0.0.1", 80)};
  changes = cluster.refreshDns(dns.resolver(), clock.now);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0], "backend.test:80: 10.0.0.1:80 -> 10.0.0.2:80,10.0.0.1:80");
  EXPECT_EQ(named.address().asString(), "10.0.0.1:80");
  EXPECT_EQ(addressList(named.addresses()), "10.0.0.2:80,10.0.0.1:80");
  // The same answers again: nothing to report.
  EXPECT_TRUE(cluster.refreshDns(dns.resolver(), clock.now).empty());

  // Moved: swapped.
  dns.names["backend.test"] = {ipv4("10.0.0.3", 80)};
  EXPECT_EQ(cluster.refreshDns(dns.resolver(), clock.now).size(), 1u);
  EXPECT_EQ(named.address().asString(), "10.0.0.3:80");

  // A DNS failure keeps the last address.
  dns.names.erase("backend.test");
  EXPECT_TRUE(cluster.refreshDns(dns.resolver(), clock.now).empty());
  EXPECT_EQ(named.address().asString(), "10.0.0.3:80");
}

using test::ipv6;

TEST(ClusterImplTest, EveryAddressOfANameIsKeptAndTheOneThatConnectedIsPreferred) {
  FakeClock clock;
  FakeDns dns;
  ClusterImpl cluster("dual", {endpoint("dual.test", 80, false)}, settingsWith(clock));
  Host& host = *cluster.hosts()[0];
  dns.names["dual.test"] = {ipv6("::1", 80), ipv4("127.0.0.1", 80)};
  cluster.refreshDns(dns.resolver(), clock.now);
  EXPECT_EQ(host.address().asString(), "[::1]:80");
  EXPECT_EQ(addressList(host.addresses()), "[::1]:80,127.0.0.1:80");

  // A connection succeeded on the second address: new ones start there.
  host.onAddressConnected(ipv4("127.0.0.1", 80));
  EXPECT_EQ(host.address().asString(), "127.0.0.1:80");
  EXPECT_EQ(addressList(host.addresses()), "[::1]:80,127.0.0.1:80") << "the list keeps its order";
  // An address the name does not resolve to is ignored.
  host.onAddressConnected(ipv4("10.0.0.9", 80));
  EXPECT_EQ(host.address().asString(), "127.0.0.1:80");

  // A refresh that still includes the preferred address keeps it.
  dns.names["dual.test"] = {ipv6("::1", 80), ipv4("127.0.0.1", 80), ipv4("127.0.0.2", 80)};
  EXPECT_EQ(cluster.refreshDns(dns.resolver(), clock.now).size(), 1u);
  EXPECT_EQ(host.address().asString(), "127.0.0.1:80");
  // One that drops it starts again at the resolver's first.
  dns.names["dual.test"] = {ipv6("::1", 80), ipv4("127.0.0.2", 80)};
  EXPECT_EQ(cluster.refreshDns(dns.resolver(), clock.now).size(), 1u);
  EXPECT_EQ(host.address().asString(), "[::1]:80");
}

TEST(ClusterImplTest, ZeroRefreshIntervalNeverSchedules) {
  FakeClock clock;
  FakeDns dns;
  ClusterSettings settings = settingsWith(clock);
  settings.dns_refresh_interval = std::chrono::milliseconds(0);
  ClusterImpl cluster("dns_off", {endpoint("x.test", 80, false)}, settings);
  cluster.refreshDns(dns.resolver(), clock.now);
  EXPECT_EQ(cluster.nextDnsRefresh(), MonotonicTime::max());
}

TEST(ClusterImplTest, CreateResolvesAndRegistersMetrics) {
  stats::StoreImpl store(1);
  FakeDns dns;
  dns.names["up.test"] = {ipv4("127.0.0.1", 9000)};
  auto cluster = ClusterImpl::create(
      "metrics", {endpoint("up.test", 9000, false), endpoint("down.test", 9001, false)},
      ClusterSettings{}, store, dns.resolver());
  EXPECT_EQ(cluster->hosts()[0]->address().asString(), "127.0.0.1:9000");
  auto value = [&store](const std::string& family) {
    for (const auto& snapshot : store.snapshot()) {
      if (snapshot.name == family) {
        return snapshot.metrics.at(0).value;
      }
    }
    return -1.0;
  };
  EXPECT_EQ(value("proxy_upstream_endpoints_healthy"), 1.0);
  for (int i = 0; i < 5; ++i) {
    cluster->hosts()[0]->onConnectFailure();
  }
  EXPECT_EQ(value("proxy_upstream_endpoint_ejections_total"), 1.0);
  EXPECT_EQ(value("proxy_upstream_endpoints_healthy"), 0.0);
  // A cluster that is gone reads zero.
  cluster.reset();
  EXPECT_EQ(value("proxy_upstream_endpoints_healthy"), 0.0);
}

}  // namespace
}  // namespace proxy::upstream
