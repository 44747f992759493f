#include "admin/route_query.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "common/stats/store_impl.h"
#include "server/config/config_loader.h"

namespace proxy::admin {
namespace {

using testing::HasSubstr;

// Real filters (the unit test binary links them all), so the router filters answer through
// the rule tables that would route traffic.
constexpr const char* kTwoHttpListeners = R"(
admin: { address: "127.0.0.1:0" }
clusters:
  - { name: users, endpoints: ["127.0.0.1:9001", "127.0.0.1:9002"] }
  - { name: api, endpoints: ["127.0.0.1:9003"] }
  - { name: web, endpoints: ["127.0.0.1:9004"] }
listeners:
  - name: edge
    address: "127.0.0.1:0"
    filters:
      - name: http_connection_manager
        config:
          http_filters:
            - name: stats
            - name: host_router
              config:
                virtual_hosts:
                  - { name: api_host, hosts: [api.example.com], cluster: api, preserve_host: true }
            - name: path_prefix_router
              config:
                routes:
                  - { name: users, prefix: /users/, cluster: users, strip_prefix: true }
                  - { name: site, host: www.example.com, prefix: /, cluster: web }
            - name: router
  - name: second
    address: "127.0.0.1:0"
    filters:
      - name: http_connection_manager
        config:
          http_filters:
            - name: path_prefix_router
              config:
                routes: [{ name: all, prefix: /, cluster: web }]
            - name: router
  - name: tcp
    address: "127.0.0.1:0"
    filters: [{ name: tcp_proxy, config: { cluster: web } }]
)";

class RouteQueryTest : public testing::Test {
 protected:
  server::SnapshotConstSharedPtr build(const std::string& yaml) {
    auto no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    return server::buildSnapshot(server::parseConfig(yaml, "test.yml", no_env), store_);
  }

  RouteQueryAnswer ask(const std::string& query) {
    if (snapshot_ == nullptr) {
      snapshot_ = build(kTwoHttpListeners);
    }
    return answerRouteQuery(*snapshot_, query);
  }

  stats::StoreImpl store_{1};
  server::SnapshotConstSharedPtr snapshot_;
};

TEST_F(RouteQueryTest, StripPrefixRuleAnswersRewrittenPathAndEndpoints) {
  RouteQueryAnswer answer =
      ask("listener=edge&host=Other.Example.com.:8080&path=%2Fusers%2F42%3Fx%3D1");
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.body,
            "{\"listener\": \"edge\", \"host\": \"Other.Example.com.:8080\", \"path\": "
            "\"/users/42?x=1\", \"normalized_host\": \"other.example.com\", \"matched\": true, "
            "\"outcome\": \"routed\", \"router\": \"path_prefix_router\", \"route\": \"users\", "
            "\"cluster\": \"users\", \"rewritten_path\": \"/42?x=1\", \"preserve_host\": false, "
            "\"endpoints\": [{\"host\": \"127.0.0.1\", \"port\": 9001, \"address\": "
            "\"127.0.0.1:9001\", \"addresses\": [\"127.0.0.1:9001\"], \"tls\": false, \"healthy\": "
            "true}, {\"host\": \"127.0.0.1\", "
            "\"port\": 9002, "
            "\"address\": \"127.0.0.1:9002\", \"addresses\": [\"127.0.0.1:9002\"], \"tls\": false, "
            "\"healthy\": true}]}\n");
}

TEST_F(RouteQueryTest, EarlierRouterFilterWins) {
  // host_router comes first in the chain, so /users/ on api.example.com goes to api.
  RouteQueryAnswer answer = ask("listener=edge&host=API.example.com&path=/users/1");
  EXPECT_EQ(answer.status, 200);
  EXPECT_THAT(answer.body, HasSubstr("\"router\": \"host_router\", \"route\": \"api_host\", "
                                     "\"cluster\": \"api\", \"rewritten_path\": \"/users/1\", "
                                     "\"preserve_host\": true"));
}

TEST_F(RouteQueryTest, DotSegmentsAreRemovedBeforeMatching) {
  RouteQueryAnswer answer = ask("listener=edge&host=www.example.com&path=/a/../users/./7");
  EXPECT_EQ(answer.status, 200);
  EXPECT_THAT(answer.body, HasSubstr("\"route\": \"users\""));
  EXPECT_THAT(answer.body, HasSubstr("\"rewritten_path\": \"/7\""));
}

TEST_F(RouteQueryTest, NoRouteIs404WithBody) {
  RouteQueryAnswer answer = ask("listener=edge&host=nobody.example.com&path=/elsewhere");
  EXPECT_EQ(answer.status, 404);
  EXPECT_THAT(answer.body, HasSubstr("\"normalized_host\": \"nobody.example.com\", "
                                     "\"matched\": false, \"outcome\": \"no_route\", "
                                     "\"response_code\": 404}"));
}

TEST_F(RouteQueryTest, PathAboveRootIsRefusedByTheFirstRouter) {
  RouteQueryAnswer answer = ask("listener=edge&host=www.example.com&path=/../x");
  EXPECT_EQ(answer.status, 404);
  EXPECT_THAT(answer.body, HasSubstr("\"matched\": false, \"outcome\": \"bad_path\", "
                                     "\"router\": \"host_router\", \"response_code\": 400}"));
}

TEST_F(RouteQueryTest, EmptyHostIsARequestWithoutHost) {
  RouteQueryAnswer answer = ask("listener=edge&host=&path=/users/");
  EXPECT_EQ(answer.status, 200);
  EXPECT_THAT(answer.body, HasSubstr("\"rewritten_path\": \"/\""));
}

TEST_F(RouteQueryTest, ListenerIsOptionalWithExactlyOneHttpListener) {
  snapshot_ = build(R"(
admin: { address: "127.0.0.1:0" }
clusters: [{ name: web, endpoints: ["127.0.0.1:9004"] }]
listeners:
  - name: only
    address: "127.0.0.1:0"
    filters:
      - name: http_connection_manager
        config:
          http_filters:
            - { name: path_prefix_router, config: { routes: [{ prefix: /, cluster: web }] } }
            - name: router
  - name: tcp
    address: "127.0.0.1:0"
    filters: [{ name: tcp_proxy, config: { cluster: web } }]
)");
  RouteQueryAnswer answer = ask("host=a&path=/x");
  EXPECT_EQ(answer.status, 200);
  EXPECT_THAT(answer.body, HasSubstr("\"listener\": \"only\""));
  EXPECT_THAT(answer.body, HasSubstr("\"cluster\": \"web\""));
}

TEST_F(RouteQueryTest, BadQueriesGet400WithAMessage) {
  struct Case {
    const char* query;
    const char* message;
  };
  const Case cases[] = {
      {"host=a&path=/x",
       "parameter \\\"listener\\\" is required when there is not exactly one "
       "HTTP listener; HTTP listeners: edge, second"},
      {"listener=edge&path=/x", "missing parameter \\\"host\\\""},
      {"listener=edge&host=a", "missing parameter \\\"path\\\""},
      {"listener=edge&host=a&path=", "path must not be empty"},
      {"listener=edge&host=a&path=/x&verbose=1", "unknown parameter \\\"verbose\\\""},
      {"listener=edge&host=a&host=b&path=/x", "parameter \\\"host\\\" given twice"},
      {"listener=edge&host=a&path=%2", "bad percent-encoding in \\\"path=%2\\\""},
      {"listener=edge&host=a&path=%zz", "bad percent-encoding"},
      {"listener=edge&host=a&path=/a%20b", "host and path must be visible ASCII"},
      {"listener=edge&host=%ff&path=/", "host and path must be visible ASCII"},
      {"listener=nope&host=a&path=/x",
       "\\\"nope\\\" is not a listener; HTTP listeners: edge, "
       "second"},
      {"listener=tcp&host=a&path=/x", "\\\"tcp\\\" is not an HTTP listener"},
  };
  for (const Case& c : cases) {
    RouteQueryAnswer answer = ask(c.query);
    EXPECT_EQ(answer.status, 400) << c.query;
    EXPECT_THAT(answer.body, HasSubstr("{\"error\": \"")) << c.query;
    EXPECT_THAT(answer.body, HasSubstr(c.message)) << c.query;
  }
}

TEST_F(RouteQueryTest, RouterFiltersRegisterInChainOrder) {
  snapshot_ = build(kTwoHttpListeners);
  ASSERT_EQ(snapshot_->listeners.size(), 3u);
  const auto& edge = snapshot_->listeners[0]->route_introspectors;
  ASSERT_EQ(edge.size(), 2u);
  EXPECT_EQ(edge[0].first, "host_router");
  EXPECT_EQ(edge[1].first, "path_prefix_router");
  EXPECT_EQ(snapshot_->listeners[2]->route_introspectors.size(), 0u);
  // The network filter manager's counters, one per config filter, same order as the chain.
  for (const auto& listener : snapshot_->listeners) {
    EXPECT_EQ(listener->filter_counters.size(), listener->chain.size());
    EXPECT_NE(listener->filter_counters.front().invocations, nullptr);
  }
}

}  // namespace
}  // namespace proxy::admin
