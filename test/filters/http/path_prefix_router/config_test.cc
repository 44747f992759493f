#include "filters/http/path_prefix_router/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "api/registry/config_error.h"
#include "api/registry/registry.h"
#include "test/mocks/http/mocks.h"
#include "test/mocks/registry/mocks.h"

namespace proxy::filters::path_prefix_router {
namespace {

using testing::NiceMock;

class PathPrefixRouterConfigTest : public testing::Test {
 protected:
  PathPrefixRouterConfigTest() {
    context_.cluster_manager_.addCluster("users");
    context_.cluster_manager_.addCluster("api");
  }

  // Runs the factory, then its callback, and keeps the one filter it installs.
  void build(const std::string& yaml) {
    registry::HttpFilterFactoryCb install =
        factory_.createFilterFactory(YAML::Load(yaml), context_);
    NiceMock<http::MockFilterChainFactoryCallbacks> chain;
    install(chain);
    ASSERT_EQ(chain.decoder_filters_.size(), 1u);
    ASSERT_TRUE(chain.encoder_filters_.empty());
    filter_ = chain.decoder_filters_[0];
  }

  struct Result {
    std::string route;  // "" when nothing matched
    std::string cluster;
    std::string path;
    bool preserve_host = false;
  };

  Result request(const std::string& host, const std::string& target) {
    NiceMock<http::MockStreamDecoderFilterCallbacks> callbacks;
    filter_->setDecoderFilterCallbacks(callbacks);
    http::RequestHeaderMap headers;
    headers.setPath(target);
    headers.add("host", host);
    filter_->decodeHeaders(headers, true);
    Result result;
    if (callbacks.route_ != nullptr) {
      result.route = callbacks.route_->name();
      result.cluster = callbacks.route_->cluster()->name();
      result.preserve_host = callbacks.route_->preserveHost();
    }
    result.path = std::string(headers.path());
    return result;
  }

  // The field of the ConfigError `yaml` gives, "(no error)" if it builds.
  std::string errorField(const std::string& yaml) {
    try {
      factory_.createFilterFactory(YAML::Load(yaml), context_);
    } catch (const registry::ConfigError& error) {
      return error.field();
    }
    return "(no error)";
  }

  NiceMock<registry::MockFactoryContext> context_;
  PathPrefixRouterFactory factory_;
  http::StreamDecoderFilterSharedPtr filter_;
};

TEST_F(PathPrefixRouterConfigTest, Registered) {
  registry::NamedHttpFilterFactory* factory = registry::httpFilters().get("path_prefix_router");
  ASSERT_NE(factory, nullptr);
  EXPECT_FALSE(factory->capabilities().terminal);
  EXPECT_FALSE(factory->capabilities().reads_body);
}

// docs/behaviour.md §1's example.
TEST_F(PathPrefixRouterConfigTest, CanonicalExample) {
  build(R"(
routes:
  - { name: users, host: admin.localhost, prefix: /users, cluster: users, strip_prefix: true }
  - { host: admin.localhost, prefix: /, target: "http://127.0.0.1:8084" }
)");
  Result users = request("admin.localhost", "/users/42");
  EXPECT_EQ(users.route, "users");
  EXPECT_EQ(users.cluster, "users");
  EXPECT_EQ(users.path, "/42");
  Result rest = request("admin.localhost:8021", "/users2/../x?y");
  EXPECT_EQ(rest.route, "admin.localhost/");
  EXPECT_EQ(rest.cluster, "127.0.0.1:8084");
  EXPECT_EQ(rest.path, "/x?y");
  EXPECT_EQ(request("localhost", "/users").route, "");
}

// What config_loader.cc makes of the seed's http_routes.
TEST_F(PathPrefixRouterConfigTest, SeedTranslation) {
  context_.cluster_manager_.addCluster("jsonplaceholder.typicode.com:443");
  context_.cluster_manager_.addCluster("localhost:8081");
  build(R"(
routes:
  - name: localhost/https
    host: localhost
    prefix: /https
    cluster: jsonplaceholder.typicode.com:443
    strip_prefix: true
  - name: localhost/
    host: localhost
    prefix: /
    cluster: localhost:8081
)");
  Result https = request("localhost:8021", "/https/posts/1");
  EXPECT_EQ(https.route, "localhost/https");
  EXPECT_EQ(https.cluster, "jsonplaceholder.typicode.com:443");
  EXPECT_EQ(https.path, "/posts/1");
  EXPECT_EQ(request("localhost", "/").route, "localhost/");
}

TEST_F(PathPrefixRouterConfigTest, EmptyRoutesMatchNothing) {
  build("routes: []");
  EXPECT_EQ(request("a", "/").route, "");
}

TEST_F(PathPrefixRouterConfigTest, DerivedNamesAreUnique) {
  build(R"(
routes:
  - { name: a.com/x, host: b.com, prefix: /z, cluster: users }
  - { host: A.com, prefix: /x, cluster: users }
  - { prefix: /y, cluster: api, preserve_host: true }
)");
  EXPECT_EQ(request("b.com", "/z").route, "a.com/x");
  EXPECT_EQ(request("a.com", "/x").route, "a.com/x_2");
  Result hostless = request("anything", "/y/1");
  EXPECT_EQ(hostless.route, "/y");
  EXPECT_EQ(hostless.cluster, "api");
  EXPECT_TRUE(hostless.preserve_host);
  EXPECT_FALSE(request("a.com", "/x").preserve_host);
}

TEST_F(PathPrefixRouterConfigTest, ErrorsNameTheField) {
  struct ErrorCase {
    const char* yaml;
    const char* field;
  };
  const ErrorCase cases[] = {
      {"", "routes"},
      {"routes: {}", "routes"},
      {"routes: x", "routes"},
      {"bogus: 1", "bogus"},
      {"routes: [[1]]", "routes[0]"},
      {"routes: [~]", "routes[0].prefix"},
      {"routes: [{cluster: users}]", "routes[0].prefix"},
      {"routes: [{prefix: users, cluster: users}]", "routes[0].prefix"},
      {"routes: [{prefix: \"\", cluster: users}]", "routes[0].prefix"},
      {"routes: [{prefix: [/], cluster: users}]", "routes[0].prefix"},
      {"routes: [{prefix: \"/a?b\", cluster: users}]", "routes[0].prefix"},
      {"routes: [{prefix: \"/a/../b\", cluster: users}]", "routes[0].prefix"},
      {"routes: [{prefix: \"/a/./b\", cluster: users}]", "routes[0].prefix"},
      {"routes: [{prefix: /, cluster: users, target: \"http://127.0.0.1:1\"}]", "routes[0].target"},
      {"routes: [{prefix: /, cluster: nope}]", "routes[0].cluster"},
      {"routes: [{prefix: /}]", "routes[0].cluster"},
      {"routes: [{prefix: /, target: \"tcp://127.0.0.1:1\"}]", "routes[0].target"},
      {"routes: [{prefix: /, cluster: users, bogus: 1}]", "routes[0].bogus"},
      {"routes: [{prefix: /, cluster: users, strip_prefix: maybe}]", "routes[0].strip_prefix"},
      {"routes: [{prefix: /, cluster: users, preserve_host: 3}]", "routes[0].preserve_host"},
      {"routes: [{prefix: /, cluster: users, host: \"*.a.com\"}]", "routes[0].host"},
      {"routes: [{prefix: /, cluster: users, host: \"a b\"}]", "routes[0].host"},
      {"routes: [{name: x, prefix: /, cluster: users}, {name: x, prefix: /a, cluster: users}]",
       "routes[1].name"},
      {"routes: [{name: \"\", prefix: /, cluster: users}]", "routes[0].name"},
      {"routes: [{prefix: /, cluster: users}, {prefix: x, cluster: users}]", "routes[1].prefix"},
  };
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(errorField(c.yaml), c.field) << c.yaml;
  }
}

TEST_F(PathPrefixRouterConfigTest, ErrorPointsAtTheNode) {
  try {
    factory_.createFilterFactory(YAML::Load("routes:\n  - prefix: /\n    cluster: nope\n"),
                                 context_);
    FAIL() << "expected a ConfigError";
  } catch (const registry::ConfigError& error) {
    EXPECT_EQ(error.field(), "routes[0].cluster");
    EXPECT_EQ(error.mark().line, 2);
    EXPECT_THAT(error.what(), testing::HasSubstr("\"nope\""));
  }
}

}  // namespace
}  // namespace proxy::filters::path_prefix_router
