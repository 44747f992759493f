#include "filters/http/host_router/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "api/registry/config_error.h"
#include "api/registry/registry.h"
#include "test/mocks/http/mocks.h"
#include "test/mocks/registry/mocks.h"

namespace proxy::filters::host_router {
namespace {

using testing::NiceMock;

class HostRouterConfigTest : public testing::Test {
 protected:
  HostRouterConfigTest() {
    context_.cluster_manager_.addCluster("api");
    context_.cluster_manager_.addCluster("web");
  }

  void build(const std::string& yaml) {
    registry::HttpFilterFactoryCb install =
        factory_.createFilterFactory(YAML::Load(yaml), context_);
    NiceMock<http::MockFilterChainFactoryCallbacks> chain;
    install(chain);
    ASSERT_EQ(chain.decoder_filters_.size(), 1u);
    ASSERT_TRUE(chain.encoder_filters_.empty());
    filter_ = chain.decoder_filters_[0];
  }

  // "route cluster" for the request, "" when nothing matched.
  std::string request(const std::string& host, const std::string& target = "/") {
    NiceMock<http::MockStreamDecoderFilterCallbacks> callbacks;
    filter_->setDecoderFilterCallbacks(callbacks);
    http::RequestHeaderMap headers;
    headers.setPath(target);
    headers.add("host", host);
    filter_->decodeHeaders(headers, true);
    if (callbacks.route_ == nullptr) {
      return "";
    }
    return callbacks.route_->name() + " " + callbacks.route_->cluster()->name() +
           (callbacks.route_->preserveHost() ? " preserve_host" : "");
  }

  std::string errorField(const std::string& yaml) {
    try {
      factory_.createFilterFactory(YAML::Load(yaml), context_);
    } catch (const registry::ConfigError& error) {
      return error.field();
    }
    return "(no error)";
  }

  NiceMock<registry::MockFactoryContext> context_;
  HostRouterFactory factory_;
  http::StreamDecoderFilterSharedPtr filter_;
};

TEST_F(HostRouterConfigTest, Registered) {
  registry::NamedHttpFilterFactory* factory = registry::httpFilters().get("host_router");
  ASSERT_NE(factory, nullptr);
  EXPECT_FALSE(factory->capabilities().terminal);
  EXPECT_FALSE(factory->capabilities().reads_body);
}

// docs/behaviour.md §1's example.
TEST_F(HostRouterConfigTest, CanonicalExample) {
  build(R"(
virtual_hosts:
  - { hosts: ["api.example.com", "*.api.example.com"], cluster: api }
)");
  EXPECT_EQ(request("api.example.com"), "api.example.com api");
  EXPECT_EQ(request("v1.api.example.com:8021"), "api.example.com api");
  EXPECT_EQ(request("example.com"), "");
}

TEST_F(HostRouterConfigTest, NamesTargetsAndOptions) {
  build(R"(
virtual_hosts:
  - { name: web, hosts: ["Example.COM.", "*.example.com"], cluster: web, preserve_host: true }
  - { hosts: ["*.internal"], target: "http://127.0.0.1:8090" }
  - { hosts: ["web"], target: "http://127.0.0.1:8090" }
  - { hosts: ["[::1]", "::2"], cluster: api }
)");
  EXPECT_EQ(request("example.com"), "web web preserve_host");
  EXPECT_EQ(request("www.example.com"), "web web preserve_host");
  EXPECT_EQ(request("db.internal"), "*.internal 127.0.0.1:8090");
  // An explicit name "web" exists, so the derived one moves aside.
  EXPECT_EQ(request("web"), "web_2 127.0.0.1:8090");
  EXPECT_EQ(request("[::1]:8021"), "[::1] api");
  EXPECT_EQ(request("[::2]"), "[::1] api");
}

TEST_F(HostRouterConfigTest, EmptyListMatchesNothing) {
  build("virtual_hosts: []");
  EXPECT_EQ(request("example.com"), "");
}

TEST_F(HostRouterConfigTest, ErrorsNameTheField) {
  struct ErrorCase {
    const char* yaml;
    const char* field;
  };
  const ErrorCase cases[] = {
      {"", "virtual_hosts"},
      {"virtual_hosts: {}", "virtual_hosts"},
      {"routes: []", "routes"},
      {"virtual_hosts: [~]", "virtual_hosts[0].hosts"},
      {"virtual_hosts: [{cluster: api}]", "virtual_hosts[0].hosts"},
      {"virtual_hosts: [{hosts: [], cluster: api}]", "virtual_hosts[0].hosts"},
      {"virtual_hosts: [{hosts: a.com, cluster: api}]", "virtual_hosts[0].hosts"},
      {"virtual_hosts: [{hosts: [\"\"], cluster: api}]", "virtual_hosts[0].hosts[0]"},
      {"virtual_hosts: [{hosts: [a.com, \"*\"], cluster: api}]", "virtual_hosts[0].hosts[1]"},
      {"virtual_hosts: [{hosts: [\"*.\"], cluster: api}]", "virtual_hosts[0].hosts[0]"},
      {"virtual_hosts: [{hosts: [\"a.*.com\"], cluster: api}]", "virtual_hosts[0].hosts[0]"},
      {"virtual_hosts: [{hosts: [\"*a.com\"], cluster: api}]", "virtual_hosts[0].hosts[0]"},
      {"virtual_hosts: [{hosts: [\"*.*.com\"], cluster: api}]", "virtual_hosts[0].hosts[0]"},
      {"virtual_hosts: [{hosts: [a/b], cluster: api}]", "virtual_hosts[0].hosts[0]"},
      {"virtual_hosts: [{hosts: [[a]], cluster: api}]", "virtual_hosts[0].hosts[0]"},
      {"virtual_hosts: [{hosts: [a.com], cluster: api}, {hosts: [b.com, A.com:80], cluster: web}]",
       "virtual_hosts[1].hosts[1]"},
      {"virtual_hosts: [{hosts: [a.com]}]", "virtual_hosts[0].cluster"},
      {"virtual_hosts: [{hosts: [a.com], cluster: nope}]", "virtual_hosts[0].cluster"},
      {"virtual_hosts: [{hosts: [a.com], cluster: api, target: \"http://127.0.0.1:1\"}]",
       "virtual_hosts[0].target"},
      {"virtual_hosts: [{hosts: [a.com], target: \"http://127.0.0.1/x\"}]",
       "virtual_hosts[0].target"},
      {"virtual_hosts: [{hosts: [a.com], cluster: api, prefix: /}]", "virtual_hosts[0].prefix"},
      {"virtual_hosts: [{hosts: [a.com], cluster: api, preserve_host: yes please}]",
       "virtual_hosts[0].preserve_host"},
      {"virtual_hosts: [{name: x, hosts: [a.com], cluster: api}, "
       "{name: x, hosts: [b.com], cluster: api}]",
       "virtual_hosts[1].name"},
  };
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(errorField(c.yaml), c.field) << c.yaml;
  }
}

}  // namespace
}  // namespace proxy::filters::host_router
