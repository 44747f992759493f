#include "server/reload_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "common/stats/store_impl.h"
#include "server/config/config_loader.h"
#include "server/snapshot.h"

namespace proxy::server {
namespace {

using testing::ElementsAre;
using testing::IsEmpty;

// A config with the real filters: an HTTP listener `web` whose catch-all route goes to
// `route_cluster`, a TCP listener `tcp` to cluster b, and `extra` appended to the listeners.
std::string config(const std::string& route_cluster = "a",
                   const std::string& cluster_b = "127.0.0.1:9002",
                   const std::string& web_address = "127.0.0.1:0", const std::string& extra = "") {
  return R"(
clusters:
  - { name: a, endpoints: ["127.0.0.1:9001"] }
  - { name: b, endpoints: [")" +
         cluster_b + R"("] }
listeners:
  - name: web
    address: ")" +
         web_address + R"("
    filters:
      - name: http_connection_manager
        config:
          http_filters:
            - { name: path_prefix_router, config: { routes: [{ prefix: /, cluster: )" +
         route_cluster + R"( }] } }
            - name: router
  - name: tcp
    address: "127.0.0.1:0"
    filters:
      - { name: tcp_proxy, config: { cluster: b } }
)" + extra;
}

class ReloadPlanTest : public testing::Test {
 protected:
  SnapshotConstSharedPtr build(const std::string& yaml, const Snapshot* previous = nullptr) {
    EnvLookup no_env = [](const std::string&) -> std::optional<std::string> {
      return std::nullopt;
    };
    return buildSnapshot(parseConfig(yaml, "test.yml", no_env), store_, previous);
  }

  stats::StoreImpl store_{1};
};

TEST_F(ReloadPlanTest, ListenersKeepTheirSocketWhenNameAndAddressStay) {
  auto running = build(config("a", "127.0.0.1:9002", "127.0.0.1:8400"));
  const std::string extra = R"(
  - name: tcp2
    address: "127.0.0.1:0"
    filters:
      - { name: tcp_proxy, config: { cluster: a } }
)";
  // web moves, tcp stays, tcp2 is new.
  auto next = build(config("b", "127.0.0.1:9002", "127.0.0.1:8401", extra), running.get());
  ListenerPlan plan = planListeners(running->config, next->config);
  EXPECT_THAT(plan.keep, ElementsAre("tcp"));
  EXPECT_THAT(plan.bind, ElementsAre("web", "tcp2"));
  EXPECT_THAT(plan.close, ElementsAre("web"));

  ListenerPlan back = planListeners(next->config, running->config);
  EXPECT_THAT(back.close, ElementsAre("web", "tcp2"));
}

TEST_F(ReloadPlanTest, UnchangedClustersAreTheSameObjects) {
  auto running = build(config());
  auto next = build(config("a", "127.0.0.1:9003"), running.get());
  EXPECT_EQ(next->clusters->get("a"), running->clusters->get("a"));
  EXPECT_NE(next->clusters->get("b"), running->clusters->get("b"));
  EXPECT_EQ(next->generation, running->generation + 1);
  // Without a previous snapshot nothing is shared.
  auto fresh = build(config());
  EXPECT_NE(fresh->clusters->get("a"), running->clusters->get("a"));
  EXPECT_EQ(fresh->generation, 1u);
}

TEST_F(ReloadPlanTest, KeptHttpListenerKeepsItsHandleWithTheNewValue) {
  auto running = build(config("a"));
  auto next = build(config("b"), running.get());
  const auto& before = running->listener("web")->published;
  const auto& after = next->listener("web")->published;
  ASSERT_EQ(before.size(), 1u);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(before.begin()->first, "http_connection_manager");
  EXPECT_EQ(after.begin()->second.first, before.begin()->second.first);
  EXPECT_NE(after.begin()->second.second, before.begin()->second.second);
  // Building stores nothing: only applying does (a refused reload leaves the handle alone).
  uint64_t version = 0;
  EXPECT_EQ(before.begin()->second.first->current(version), nullptr);
}

TEST_F(ReloadPlanTest, MovedHttpListenerGetsANewHandle) {
  auto running = build(config("a", "127.0.0.1:9002", "127.0.0.1:8400"));
  auto next = build(config("a", "127.0.0.1:9002", "127.0.0.1:8401"), running.get());
  EXPECT_NE(next->listener("web")->published.begin()->second.first,
            running->listener("web")->published.begin()->second.first);
  EXPECT_EQ(planConnection(*running->listener("web"), *next), ConnectionAction::kDrain);
}

TEST_F(ReloadPlanTest, HttpConnectionsFollowRouteChanges) {
  auto running = build(config("a"));
  auto next = build(config("b"), running.get());
  EXPECT_EQ(planConnection(*running->listener("web"), *next), ConnectionAction::kKeep);
}

TEST_F(ReloadPlanTest, TcpConnectionsStayWhileListenerAndClusterAreUnchanged) {
  auto running = build(config("a"));
  // Routes and cluster a change; tcp and its cluster b do not.
  auto next = build(config("b"), running.get());
  EXPECT_THAT(running->listener("tcp")->clusters_used, testing::SizeIs(1));
  EXPECT_EQ(planConnection(*running->listener("tcp"), *next), ConnectionAction::kKeep);
  // Two reloads later, still compared with what the connection started under.
  auto later = build(config("a"), next.get());
  EXPECT_EQ(planConnection(*running->listener("tcp"), *later), ConnectionAction::kKeep);
}

TEST_F(ReloadPlanTest, TcpConnectionsDrainWhenTheirClusterChanges) {
  auto running = build(config());
  auto next = build(config("a", "127.0.0.1:9003"), running.get());
  EXPECT_EQ(planConnection(*running->listener("tcp"), *next), ConnectionAction::kDrain);
}

TEST_F(ReloadPlanTest, TcpConnectionsDrainWhenTheirListenerChangesOrGoes) {
  auto running = build(config());
  std::string changed = config();
  changed.replace(changed.find("{ cluster: b }"), 14, "{ cluster: b, idle_timeout: 5s }");
  auto next = build(changed, running.get());
  EXPECT_EQ(planConnection(*running->listener("tcp"), *next), ConnectionAction::kDrain);

  std::string without_tcp = config();
  without_tcp.erase(without_tcp.find("  - name: tcp\n"));
  auto removed = build(without_tcp, running.get());
  EXPECT_EQ(planConnection(*running->listener("tcp"), *removed), ConnectionAction::kDrain);
}

TEST_F(ReloadPlanTest, HttpConnectionsDrainWhenTheListenerIsNoLongerHttp) {
  auto running = build(config());
  std::string now_tcp = config();
  const size_t from = now_tcp.find("      - name: http_connection_manager");
  const size_t to = now_tcp.find("  - name: tcp\n");
  now_tcp.replace(from, to - from, "      - { name: tcp_proxy, config: { cluster: a } }\n");
  auto next = build(now_tcp, running.get());
  EXPECT_EQ(planConnection(*running->listener("web"), *next), ConnectionAction::kDrain);
}

// A tunnel (an upgraded stream on a kept HTTP connection) routes no more: it follows its
// cluster object, not the listener's handles.
TEST_F(ReloadPlanTest, TunnelsDrainWhenTheirClusterChanges) {
  auto running = build(config("b"));
  const upstream::Cluster& b = *running->clusters->get("b");
  // The route stays on b; b gets a new endpoint.
  auto next = build(config("b", "127.0.0.1:9003"), running.get());
  ASSERT_EQ(planConnection(*running->listener("web"), *next), ConnectionAction::kKeep);
  EXPECT_EQ(planTunnel(b, *next), ConnectionAction::kDrain);
  // The new cluster's tunnels carry on through the next reload that leaves it alone.
  auto later = build(config("a", "127.0.0.1:9003"), next.get());
  EXPECT_EQ(planTunnel(*next->clusters->get("b"), *later), ConnectionAction::kKeep);
}

TEST_F(ReloadPlanTest, TunnelsDrainWhenTheirClusterIsRemoved) {
  auto running = build(config("b"));
  const upstream::Cluster& b = *running->clusters->get("b");
  std::string without_b = config("a");
  without_b.erase(without_b.find("  - { name: b,"),
                  without_b.find("listeners:") - without_b.find("  - { name: b,"));
  without_b.erase(without_b.find("  - name: tcp\n"));
  auto next = build(without_b, running.get());
  ASSERT_EQ(next->clusters->get("b"), nullptr);
  EXPECT_EQ(planTunnel(b, *next), ConnectionAction::kDrain);
}

TEST_F(ReloadPlanTest, TunnelsStayWhileTheirClusterIsUnchanged) {
  auto running = build(config("a"));
  const upstream::Cluster& a = *running->clusters->get("a");
  // The route moves to b and b changes: a itself does not, so its tunnels stay, even though
  // no route leads to a any more.
  auto next = build(config("b", "127.0.0.1:9003"), running.get());
  EXPECT_EQ(planTunnel(a, *next), ConnectionAction::kKeep);
  auto later = build(config("a", "127.0.0.1:9004"), next.get());
  EXPECT_EQ(planTunnel(a, *later), ConnectionAction::kKeep);
}

TEST_F(ReloadPlanTest, TunnelsToAnInlineTargetFollowIt) {
  const std::string target = "target: \"http://127.0.0.1:9100\"";
  std::string to_target = config("a");
  to_target.replace(to_target.find("cluster: a"), 10, target);
  auto running = build(to_target);
  const upstream::Cluster* inline_target = nullptr;
  for (const auto& cluster : running->clusters->all()) {
    if (running->clusters->get(cluster->name()) != cluster) {
      inline_target = cluster.get();
    }
  }
  ASSERT_NE(inline_target, nullptr);
  // The same target in the next config is the same cluster: its tunnels stay.
  std::string same = to_target;
  same.replace(same.find("127.0.0.1:9002"), 14, "127.0.0.1:9003");
  auto next = build(same, running.get());
  EXPECT_EQ(planTunnel(*inline_target, *next), ConnectionAction::kKeep);
  // Another target (or none) replaces it: they drain.
  std::string moved = to_target;
  moved.replace(moved.find("127.0.0.1:9100"), 14, "127.0.0.1:9101");
  EXPECT_EQ(planTunnel(*inline_target, *build(moved, next.get())), ConnectionAction::kDrain);
  EXPECT_EQ(planTunnel(*inline_target, *build(config("a"), next.get())), ConnectionAction::kDrain);
}

}  // namespace
}  // namespace proxy::server
