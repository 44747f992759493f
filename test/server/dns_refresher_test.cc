#include "server/dns_refresher.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "test/mocks/event/mocks.h"

namespace proxy::server {
namespace {

using testing::NiceMock;

network::Address ipv4(const char* ip, uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  inet_pton(AF_INET, ip, &sin.sin_addr);
  return network::Address(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
}

class DnsRefresherTest : public testing::Test {
 protected:
  // A snapshot with one cluster per (name, host, interval).
  std::shared_ptr<upstream::ClusterImpl> addCluster(Snapshot& snapshot, const std::string& name,
                                                    const std::string& host,
                                                    std::chrono::milliseconds interval) {
    upstream::ClusterSettings settings;
    settings.dns_refresh_interval = interval;
    auto cluster = std::make_shared<upstream::ClusterImpl>(
        name, std::vector<upstream::Endpoint>{upstream::Endpoint{host, 80, {}, false}}, settings);
    auto manager = std::const_pointer_cast<upstream::ClusterManagerImpl>(snapshot.clusters);
    manager->add(cluster);
    return cluster;
  }

  upstream::Resolver resolver() {
    return [this](const std::string& host, uint16_t) {
      ++lookups_[host];
      auto it = names_.find(host);
      return it == names_.end() ? std::vector<network::Address>{} : it->second;
    };
  }

  std::shared_ptr<Snapshot> snapshot() {
    auto out = std::make_shared<Snapshot>();
    out->clusters = std::make_shared<upstream::ClusterManagerImpl>();
    return out;
  }

  std::map<std::string, std::vector<network::Address>> names_;
  std::map<std::string, int> lookups_;
  upstream::MonotonicTime start_ = std::chrono::steady_clock::now();
};

TEST_F(DnsRefresherTest, RefreshesOnlyDueClustersAndReturnsTheNextDueTime) {
  auto current = snapshot();
  auto fast = addCluster(*current, "fast", "fast.test", std::chrono::seconds(1));
  auto slow = addCluster(*current, "slow", "slow.test", std::chrono::seconds(30));
  auto off = addCluster(*current, "off", "off.test", std::chrono::milliseconds(0));
  fast->refreshDns(resolver(), start_);
  slow->refreshDns(resolver(), start_);
  off->refreshDns(resolver(), start_);
  lookups_.clear();
  names_["fast.test"] = {ipv4("10.0.0.1", 80)};
  names_["slow.test"] = {ipv4("10.0.0.2", 80)};

  auto next =
      DnsRefresher::refreshDns(*current, resolver(), start_ + std::chrono::seconds(1), nullptr);
  EXPECT_EQ(lookups_["fast.test"], 1);
  EXPECT_EQ(lookups_["slow.test"], 0);
  EXPECT_EQ(lookups_["off.test"], 0);
  EXPECT_EQ(fast->hosts()[0]->address().asString(), "10.0.0.1:80");
  EXPECT_FALSE(slow->hosts()[0]->address().valid());
  EXPECT_EQ(next, start_ + std::chrono::seconds(2));

  DnsRefresher::refreshDns(*current, resolver(), start_ + std::chrono::seconds(30), nullptr);
  EXPECT_EQ(lookups_["slow.test"], 1);
  EXPECT_EQ(slow->hosts()[0]->address().asString(), "10.0.0.2:80");
  EXPECT_EQ(lookups_["off.test"], 0);
}

TEST_F(DnsRefresherTest, TimerRefreshesTheCurrentSnapshotOnTheMainDispatcher) {
  NiceMock<event::MockDispatcher> main_dispatcher;
  std::shared_ptr<const Snapshot> current = snapshot();
  DnsRefresher refresher(
      main_dispatcher, [&current] { return current; }, resolver(),
      Poco::Logger::get("dns_refresher_test"));
  refresher.start();
  ASSERT_EQ(main_dispatcher.timers().size(), 1u);
  event::MockTimer& timer = *main_dispatcher.timers()[0];
  EXPECT_EQ(timer.duration_, DnsRefresher::kMaxTick);

  // A reload replaced the snapshot: the new one's cluster is refreshed.
  auto next = snapshot();
  auto cluster = addCluster(*next, "moved", "moved.test", std::chrono::milliseconds(200));
  cluster->refreshDns(resolver(), start_ - std::chrono::hours(1));  // due long ago
  current = next;
  names_["moved.test"] = {ipv4("10.0.0.7", 80)};
  timer.invokeCallback();
  EXPECT_EQ(lookups_["moved.test"], 2);
  EXPECT_EQ(cluster->hosts()[0]->address().asString(), "10.0.0.7:80");
  EXPECT_TRUE(timer.enabled_);
  EXPECT_GE(timer.duration_, DnsRefresher::kMinTick);
  EXPECT_LE(timer.duration_, std::chrono::milliseconds(200));
}

}  // namespace
}  // namespace proxy::server
