#include "server/config_diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "server/config/config_loader.h"
#include "test/server/config/config_test_util.h"

namespace proxy::server {
namespace {

using testing::ElementsAre;
using testing::IsEmpty;

Config parse(const std::string& yaml) {
  EnvLookup no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  return parseConfig(yaml, "test.yml", no_env, config_test::httpFilters());
}

// One HTTP listener with a path_prefix_router of `routes`, one TCP listener, clusters a and b.
std::string config(const std::string& routes, const std::string& extra_listener = "",
                   const std::string& top = "", const std::string& cluster_b = "127.0.0.1:9002") {
  return top + R"(
clusters:
  - { name: a, endpoints: ["127.0.0.1:9001"] }
  - { name: b, endpoints: [")" +
         cluster_b + R"("] }
listeners:
  - name: web
    address: "127.0.0.1:0"
    filters:
      - name: http_connection_manager
        config:
          http_filters:
            - name: path_prefix_router
              config:
                routes: )" +
         routes + R"(
            - name: router
  - name: tcp
    address: "127.0.0.1:0"
    filters:
      - { name: tcp_proxy, config: { cluster: b } }
)" + extra_listener;
}

const std::string kRoutes =
    R"([{ name: users, prefix: /users, cluster: a }, { prefix: /, cluster: b }])";

TEST(ConfigDiffTest, SameConfigChangesNothing) {
  ConfigDiff diff = diffConfigs(parse(config(kRoutes)), parse(config(kRoutes)));
  EXPECT_TRUE(diff.listeners.empty());
  EXPECT_TRUE(diff.clusters.empty());
  EXPECT_TRUE(diff.routes.empty());
  EXPECT_THAT(diff.settings, IsEmpty());
  EXPECT_THAT(diff.restart_required, IsEmpty());
}

TEST(ConfigDiffTest, ComparesByContentNotByPositionOrStyle) {
  // The same rules in block style.
  const std::string block = R"(
                  - name: users
                    prefix: /users
                    cluster: a
                  - prefix: /
                    cluster: b)";
  std::string reordered = config(block);
  ConfigDiff diff = diffConfigs(parse(config(kRoutes)), parse(reordered));
  EXPECT_TRUE(diff.routes.empty()) << diff.toJson();
  EXPECT_TRUE(diff.listeners.empty()) << diff.toJson();
}

TEST(ConfigDiffTest, RouteChangedAddedRemovedByName) {
  const std::string next =
      R"([{ name: users, prefix: /users, cluster: b }, { name: api, prefix: /api, cluster: a }])";
  ConfigDiff diff = diffConfigs(parse(config(kRoutes)), parse(config(next)));
  EXPECT_THAT(diff.routes.changed, ElementsAre("web/path_prefix_router/users"));
  EXPECT_THAT(diff.routes.added, ElementsAre("web/path_prefix_router/api"));
  // The unnamed rule is named from its host and prefix, as the router names it.
  EXPECT_THAT(diff.routes.removed, ElementsAre("web/path_prefix_router//"));
  // The routes are inside the listener's filters: the listener changed too.
  EXPECT_THAT(diff.listeners.changed, ElementsAre("web"));
  EXPECT_TRUE(diff.clusters.empty());
}

TEST(ConfigDiffTest, ListenerAddedAndRemoved) {
  const std::string extra = R"(
  - name: tcp2
    address: "127.0.0.1:0"
    filters:
      - { name: tcp_proxy, config: { cluster: a } }
)";
  ConfigDiff added = diffConfigs(parse(config(kRoutes)), parse(config(kRoutes, extra)));
  EXPECT_THAT(added.listeners.added, ElementsAre("tcp2"));
  EXPECT_THAT(added.listeners.changed, IsEmpty());
  ConfigDiff removed = diffConfigs(parse(config(kRoutes, extra)), parse(config(kRoutes)));
  EXPECT_THAT(removed.listeners.removed, ElementsAre("tcp2"));
}

TEST(ConfigDiffTest, ClusterChangedWhenAnEndpointChanges) {
  ConfigDiff diff =
      diffConfigs(parse(config(kRoutes)), parse(config(kRoutes, "", "", "127.0.0.1:9003")));
  EXPECT_THAT(diff.clusters.changed, ElementsAre("b"));
  EXPECT_THAT(diff.clusters.added, IsEmpty());
  EXPECT_TRUE(diff.listeners.empty());
  EXPECT_TRUE(diff.routes.empty());
}

TEST(ConfigDiffTest, ClusterChangedWhenItsTlsBlockChanges) {
  auto with_tls = [](const std::string& tls) {
    return parse("clusters:\n  - name: api\n    endpoints: [\"https://api.internal\"]\n" + tls);
  };
  const Config none = with_tls("");
  const Config no_verify = with_tls("    tls: { verify: false }\n");
  const Config sni = with_tls("    tls: { sni: api.example.com }\n");
  // A TLS change replaces the cluster (and so its TLS context) on reload.
  EXPECT_THAT(diffConfigs(none, no_verify).clusters.changed, ElementsAre("api"));
  EXPECT_THAT(diffConfigs(no_verify, sni).clusters.changed, ElementsAre("api"));
  EXPECT_NE(clusterContent(none.clusters[0]), clusterContent(sni.clusters[0]));
  // The same settings written another way are the same cluster.
  const Config sni_block = with_tls("    tls:\n      sni: \"api.example.com\"\n");
  EXPECT_TRUE(diffConfigs(sni, sni_block).clusters.empty());
  EXPECT_EQ(clusterContent(sni.clusters[0]), clusterContent(sni_block.clusters[0]));
}

TEST(ConfigDiffTest, WorkersAndAdminNeedARestartLogLevelDoesNot) {
  ConfigDiff diff =
      diffConfigs(parse(config(kRoutes)),
                  parse(config(kRoutes, "",
                               "workers: 3\nlog_level: debug\nadmin: { address: \"127.0.0.1:1\" }\n"
                               "shutdown_timeout: 2s\n")));
  EXPECT_THAT(diff.restart_required, ElementsAre("workers", "admin.address"));
  EXPECT_THAT(diff.settings, ElementsAre("log_level", "shutdown_timeout"));
}

TEST(ConfigDiffTest, AdminAccessAppliesAtOnceReadOnlyAddressNeedsARestart) {
  Config running = parse(config(kRoutes));
  Config next = parse(
      config(kRoutes, "", "admin: { allowed_hosts: [proxy], read_only_address: \":9902\" }\n"));
  next.admin.token_file = "/etc/proxy/token";
  next.admin.token = "t";
  ConfigDiff diff = diffConfigs(running, next);
  EXPECT_THAT(diff.settings, ElementsAre("admin.allowed_hosts", "admin.token_file"));
  EXPECT_THAT(diff.restart_required, ElementsAre("admin.read_only_address"));
  // The same file with another token in it is a change too.
  Config rotated = next;
  rotated.admin.token = "u";
  EXPECT_THAT(diffConfigs(next, rotated).settings, ElementsAre("admin.token_file"));
}

TEST(ConfigDiffTest, VirtualHostsNamedByFirstHost) {
  auto with_hosts = [](const std::string& cluster) {
    return R"(
clusters:
  - { name: a, endpoints: ["127.0.0.1:9001"] }
  - { name: b, endpoints: ["127.0.0.1:9002"] }
listeners:
  - name: web
    address: "127.0.0.1:0"
    filters:
      - name: http_connection_manager
        config:
          http_filters:
            - name: host_router
              config: { virtual_hosts: [{ hosts: ["api.example.com"], cluster: )" +
           cluster + R"( }] }
            - name: router
)";
  };
  ConfigDiff diff = diffConfigs(parse(with_hosts("a")), parse(with_hosts("b")));
  EXPECT_THAT(diff.routes.changed, ElementsAre("web/host_router/api.example.com"));
}

TEST(ConfigDiffTest, JsonListsEveryKind) {
  ConfigDiff diff;
  diff.listeners.added = {"l"};
  diff.routes.changed = {"web/path_prefix_router/\"q\""};
  diff.restart_required = {"workers"};
  EXPECT_EQ(diff.toJson(),
            R"({"listeners":{"added":["l"],"removed":[],"changed":[]},)"
            R"("clusters":{"added":[],"removed":[],"changed":[]},)"
            R"("routes":{"added":[],"removed":[],"changed":["web/path_prefix_router/\"q\""]},)"
            R"("settings":[],"restart_required":["workers"]})");
}

}  // namespace
}  // namespace proxy::server
