#include "common/router/route_clusters.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/registry/config_error.h"
#include "test/mocks/registry/mocks.h"

namespace proxy::router {
namespace {

using testing::NiceMock;

class RouteClustersTest : public testing::Test {
 protected:
  upstream::ClusterConstSharedPtr forRule(const std::string& yaml) {
    return clusters_.forRule(YAML::Load(yaml), "routes[0]");
  }

  // The field of the ConfigError `yaml` gives.
  std::string errorField(const std::string& yaml) {
    try {
      forRule(yaml);
    } catch (const registry::ConfigError& error) {
      return error.field();
    }
    return "(no error)";
  }

  NiceMock<registry::MockFactoryContext> context_;
  NiceMock<upstream::MockClusterManager>& manager_ = context_.cluster_manager_;
  RouteClusters clusters_{context_};
};

TEST_F(RouteClustersTest, NamedCluster) {
  manager_.addCluster("users");
  upstream::ClusterConstSharedPtr cluster = forRule("{cluster: users}");
  ASSERT_NE(cluster, nullptr);
  EXPECT_EQ(cluster->name(), "users");
  EXPECT_EQ(cluster.get(), manager_.clusters_["users"].get());
}

TEST_F(RouteClustersTest, InlineTargets) {
  upstream::ClusterConstSharedPtr http = forRule("{target: \"http://127.0.0.1:8084\"}");
  ASSERT_NE(http, nullptr);
  EXPECT_EQ(http->name(), "127.0.0.1:8084");
  ASSERT_EQ(http->hosts().size(), 1u);
  EXPECT_EQ(http->hosts()[0]->hostname(), "127.0.0.1");
  EXPECT_EQ(http->hosts()[0]->port(), 8084);
  EXPECT_FALSE(http->hosts()[0]->tls());
  EXPECT_EQ(http->hosts()[0]->address().asString(), "127.0.0.1:8084");
  EXPECT_EQ(http->connectTimeout(), RouteClusters::kTargetConnectTimeout);

  // The same URL is the same cluster.
  EXPECT_EQ(forRule("{target: \"http://127.0.0.1:8084/\"}").get(), http.get());

  upstream::ClusterConstSharedPtr https = forRule("{target: \"HTTPS://127.0.0.1\"}");
  EXPECT_EQ(https->name(), "127.0.0.1:443");
  EXPECT_TRUE(https->hosts()[0]->tls());
  EXPECT_EQ(forRule("{target: \"http://127.0.0.1\"}")->name(), "127.0.0.1:80");

  upstream::ClusterConstSharedPtr v6 = forRule("{target: \"http://[::1]:9000\"}");
  EXPECT_EQ(v6->name(), "[::1]:9000");
  EXPECT_EQ(v6->hosts()[0]->hostname(), "::1");
  EXPECT_EQ(v6->hosts()[0]->address().asString(), "[::1]:9000");
}

TEST_F(RouteClustersTest, SameAuthorityUnderBothSchemesGetsTwoNames) {
  upstream::ClusterConstSharedPtr plain = forRule("{target: \"http://127.0.0.1:8443\"}");
  upstream::ClusterConstSharedPtr tls = forRule("{target: \"https://127.0.0.1:8443\"}");
  EXPECT_EQ(plain->name(), "127.0.0.1:8443");
  EXPECT_EQ(tls->name(), "https://127.0.0.1:8443");
  EXPECT_TRUE(tls->hosts()[0]->tls());
}

TEST_F(RouteClustersTest, UnresolvableNameIsNotAnError) {
  upstream::ClusterConstSharedPtr cluster = forRule("{target: \"http://nonexistent.invalid\"}");
  ASSERT_NE(cluster, nullptr);
  EXPECT_EQ(cluster->name(), "nonexistent.invalid:80");
  EXPECT_FALSE(cluster->hosts()[0]->address().valid());
}

TEST_F(RouteClustersTest, Errors) {
  manager_.addCluster("users");
  struct ErrorCase {
    const char* yaml;
    const char* field;
  };
  const ErrorCase cases[] = {
      {"{}", "routes[0].cluster"},
      {"{cluster: \"\"}", "routes[0].cluster"},
      {"{cluster: missing}", "routes[0].cluster"},
      {"{cluster: [a]}", "routes[0].cluster"},
      {"{cluster: users, target: \"http://127.0.0.1:1\"}", "routes[0].target"},
      {"{target: \"127.0.0.1:8080\"}", "routes[0].target"},
      {"{target: \"ftp://127.0.0.1\"}", "routes[0].target"},
      {"{target: \"http://\"}", "routes[0].target"},
      {"{target: \"http://127.0.0.1:0\"}", "routes[0].target"},
      {"{target: \"http://127.0.0.1:65536\"}", "routes[0].target"},
      {"{target: \"http://127.0.0.1:\"}", "routes[0].target"},
      {"{target: \"http://user@127.0.0.1\"}", "routes[0].target"},
      {"{target: \"http://127.0.0.1/path\"}", "routes[0].target"},
      {"{target: \"http://127.0.0.1?q\"}", "routes[0].target"},
      {"{target: \"http://[::1\"}", "routes[0].target"},
      {"{target: \"http://::1\"}", "routes[0].target"},
      {"{target: [a]}", "routes[0].target"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(errorField(c.yaml), c.field) << c.yaml;
  }
}

}  // namespace
}  // namespace proxy::router
