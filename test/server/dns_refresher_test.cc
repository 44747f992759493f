#include "server/dns_refresher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "test/mocks/event/mocks.h"
#include "test/server/posted_queue.h"
#include "test/support/addresses.h"

namespace proxy::server {
namespace {

using testing::NiceMock;

using test::ipv4;

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

  // Runs on the lookup threads: guarded. A name in hold_ waits until it is released.
  upstream::Resolver resolver() {
    return [this](const std::string& host, uint16_t) {
      std::unique_lock<std::mutex> lock(mutex_);
      ++lookups_[host];
      released_.wait(lock, [&] { return hold_.count(host) == 0; });
      auto it = names_.find(host);
      return it == names_.end() ? std::vector<network::Address>{} : it->second;
    };
  }
  int lookups(const std::string& host) {
    std::lock_guard<std::mutex> lock(mutex_);
    return lookups_[host];
  }
  void setName(const std::string& host, std::vector<network::Address> addresses) {
    std::lock_guard<std::mutex> lock(mutex_);
    names_[host] = std::move(addresses);
  }
  void release(const std::string& host) {
    std::lock_guard<std::mutex> lock(mutex_);
    hold_.erase(host);
    released_.notify_all();
  }

  std::shared_ptr<Snapshot> snapshot() {
    auto out = std::make_shared<Snapshot>();
    out->clusters = std::make_shared<upstream::ClusterManagerImpl>();
    return out;
  }

  std::mutex mutex_;
  std::condition_variable released_;
  std::map<std::string, std::vector<network::Address>> names_;
  std::map<std::string, int> lookups_;
  std::set<std::string> hold_;
  upstream::MonotonicTime start_ = std::chrono::steady_clock::now();

  NiceMock<event::MockDispatcher> main_dispatcher_;
  PostedQueue posted_{main_dispatcher_};
  std::shared_ptr<const Snapshot> current_;
  std::unique_ptr<AsyncResolver> async_ =
      std::make_unique<AsyncResolver>(main_dispatcher_, resolver());
  DnsRefresher refresher_{main_dispatcher_, [this] { return current_; }, *async_,
                          Poco::Logger::get("dns_refresher_test")};
};

TEST_F(DnsRefresherTest, RefreshesDueClustersOffTheMainThreadAndAppliesOnIt) {
  auto current = snapshot();
  auto fast = addCluster(*current, "fast", "fast.test", std::chrono::seconds(1));
  auto slow = addCluster(*current, "slow", "slow.test", std::chrono::seconds(30));
  auto off = addCluster(*current, "off", "off.test", std::chrono::milliseconds(0));
  for (const auto& cluster : {fast, slow, off}) {
    cluster->scheduleNextRefresh(start_);
  }
  setName("fast.test", {ipv4("10.0.0.1", 80)});
  setName("slow.test", {ipv4("10.0.0.2", 80)});

  auto next = refresher_.refreshDue(*current, start_ + std::chrono::seconds(1));
  EXPECT_EQ(next, start_ + std::chrono::seconds(2));
  EXPECT_EQ(1u, posted_.runAtLeast(1));
  EXPECT_EQ(lookups("fast.test"), 1);
  EXPECT_EQ(lookups("slow.test"), 0);
  EXPECT_EQ(lookups("off.test"), 0);
  EXPECT_EQ(fast->hosts()[0]->address().asString(), "10.0.0.1:80");
  EXPECT_FALSE(slow->hosts()[0]->address().valid());

  refresher_.refreshDue(*current, start_ + std::chrono::seconds(30));
  posted_.runAtLeast(2);  // fast is due again too
  EXPECT_EQ(lookups("slow.test"), 1);
  EXPECT_EQ(slow->hosts()[0]->address().asString(), "10.0.0.2:80");
  EXPECT_EQ(lookups("off.test"), 0);
}

TEST_F(DnsRefresherTest, ResultsAreAppliedOnlyWhenTheMainLoopRunsThem) {
  auto current = snapshot();
  auto cluster = addCluster(*current, "c", "c.test", std::chrono::seconds(1));
  cluster->scheduleNextRefresh(start_ - std::chrono::hours(1));  // due
  setName("c.test", {ipv4("10.0.0.3", 80)});
  refresher_.refreshDue(*current, start_);
  // The lookup thread posted its answer; the host is untouched until the loop runs it.
  for (int i = 0; i < 500 && posted_.queued() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(1u, posted_.queued());
  EXPECT_FALSE(cluster->hosts()[0]->address().valid());
  posted_.runAtLeast(1);
  EXPECT_EQ(cluster->hosts()[0]->address().asString(), "10.0.0.3:80");
}

TEST_F(DnsRefresherTest, ASlowNameIsNotAskedAgainWhileItsLookupIsOut) {
  auto current = snapshot();
  auto cluster = addCluster(*current, "slow", "slow.test", std::chrono::milliseconds(100));
  cluster->scheduleNextRefresh(start_ - std::chrono::hours(1));  // due, and at every tick
  {
    std::lock_guard<std::mutex> lock(mutex_);
    hold_.insert("slow.test");
  }
  for (int tick = 0; tick < 5; ++tick) {
    refresher_.refreshDue(*current, start_ + tick * std::chrono::milliseconds(100));
  }
  for (int i = 0; i < 500 && lookups("slow.test") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  setName("slow.test", {ipv4("10.0.0.4", 80)});
  release("slow.test");
  EXPECT_EQ(1u, posted_.runAtLeast(1));
  EXPECT_EQ(lookups("slow.test"), 1);
  EXPECT_EQ(cluster->hosts()[0]->address().asString(), "10.0.0.4:80");
}

TEST_F(DnsRefresherTest, ResolveCallsBackOnceEveryHostHasItsAnswer) {
  auto next = snapshot();
  auto a = addCluster(*next, "a", "a.test", std::chrono::seconds(30));
  auto b = addCluster(*next, "b", "b.test", std::chrono::seconds(30));
  auto literal = addCluster(*next, "literal", "127.0.0.1", std::chrono::seconds(30));
  literal->refreshDns(upstream::literalResolver(), start_);
  setName("a.test", {ipv4("10.0.0.5", 80)});
  setName("b.test", {ipv4("10.0.0.6", 80)});

  // Only the clusters the running snapshot does not have, and only names to look up.
  auto running = snapshot();
  std::const_pointer_cast<upstream::ClusterManagerImpl>(running->clusters)->add(b);
  const auto hosts = DnsRefresher::newHostsToResolve(*next, *running);
  ASSERT_EQ(1u, hosts.size());
  EXPECT_EQ("a", hosts[0].cluster);

  int done = 0;
  refresher_.resolve(hosts, [&] { ++done; });
  EXPECT_EQ(0, done);
  posted_.runAtLeast(1);
  EXPECT_EQ(1, done);
  EXPECT_EQ(a->hosts()[0]->address().asString(), "10.0.0.5:80");

  refresher_.resolve({}, [&] { ++done; });
  EXPECT_EQ(2, done) << "nothing to look up: at once";
}

TEST_F(DnsRefresherTest, TimerRefreshesTheCurrentSnapshotOnTheMainDispatcher) {
  refresher_.start();
  ASSERT_EQ(main_dispatcher_.timers().size(), 1u);
  event::MockTimer& timer = *main_dispatcher_.timers()[0];
  EXPECT_EQ(timer.duration_, DnsRefresher::kMaxTick);

  // A reload replaced the snapshot: the new one's cluster is refreshed.
  auto next = snapshot();
  auto cluster = addCluster(*next, "moved", "moved.test", std::chrono::milliseconds(200));
  cluster->scheduleNextRefresh(start_ - std::chrono::hours(1));  // due long ago
  current_ = next;
  setName("moved.test", {ipv4("10.0.0.7", 80)});
  timer.invokeCallback();
  posted_.runAtLeast(1);
  EXPECT_EQ(lookups("moved.test"), 1);
  EXPECT_EQ(cluster->hosts()[0]->address().asString(), "10.0.0.7:80");
  EXPECT_TRUE(timer.enabled_);
  EXPECT_GE(timer.duration_, DnsRefresher::kMinTick);
  EXPECT_LE(timer.duration_, std::chrono::milliseconds(200));
}

TEST_F(DnsRefresherTest, AResolverGoneDropsTheAnswersStillOut) {
  auto current = snapshot();
  auto cluster = addCluster(*current, "c", "late.test", std::chrono::seconds(1));
  cluster->scheduleNextRefresh(start_ - std::chrono::hours(1));  // due
  {
    std::lock_guard<std::mutex> lock(mutex_);
    hold_.insert("late.test");
  }
  setName("late.test", {ipv4("10.0.0.8", 80)});
  refresher_.refreshDue(*current, start_);
  for (int i = 0; i < 500 && lookups("late.test") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  async_.reset();  // shutting down while the name server is slow
  release("late.test");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(0u, posted_.runAtLeast(0));
  EXPECT_FALSE(cluster->hosts()[0]->address().valid());
}

}  // namespace
}  // namespace proxy::server
