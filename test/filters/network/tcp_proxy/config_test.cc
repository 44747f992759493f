#include "filters/network/tcp_proxy/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/registry/config_error.h"
#include "api/registry/registry.h"
#include "filters/network/tcp_proxy/tcp_proxy.h"
#include "test/mocks/network/mocks.h"
#include "test/mocks/registry/mocks.h"

using testing::NiceMock;

namespace proxy::filters::tcp_proxy {
namespace {

// A network filter that reads the bytes, as an inspecting filter would.
class BodyReaderFactory final : public registry::NamedNetworkFilterFactory {
 public:
  std::string name() const override { return "test_tcp_proxy_body_reader"; }
  registry::FilterCapabilities capabilities() const override {
    return {.terminal = false, .reads_body = true};
  }
  registry::NetworkFilterFactoryCb createFilterFactory(const YAML::Node&,
                                                       registry::FactoryContext&) override {
    return [](network::FilterManager&) {};
  }
};

class TcpProxyConfigTest : public testing::Test {
 protected:
  TcpProxyConfigTest() {
    if (registry::networkFilters().get("test_tcp_proxy_body_reader") == nullptr) {
      registry::networkFilters().add(std::make_unique<BodyReaderFactory>());
    }
    upstream::Endpoint endpoint;
    endpoint.host = "127.0.0.1";
    endpoint.port = 8080;
    context_.cluster_manager_.addCluster("backend", {endpoint});
    context_.chain_filter_names_ = {"stats", "tcp_proxy"};
  }

  // The settings of a filter built from `yaml`.
  TcpProxyConfig build(const std::string& yaml) {
    registry::NetworkFilterFactoryCb install =
        factory_.createFilterFactory(YAML::Load(yaml), context_);
    NiceMock<network::MockConnection> connection;
    install(connection);
    auto filter = std::dynamic_pointer_cast<TcpProxyFilter>(connection.read_filters_.at(0));
    EXPECT_NE(nullptr, filter);
    return filter != nullptr ? filter->config() : TcpProxyConfig{};
  }

  std::string error(const std::string& yaml) {
    try {
      factory_.createFilterFactory(YAML::Load(yaml), context_);
    } catch (const registry::ConfigError& e) {
      return e.field() + ": " + e.what();
    }
    return "(no error)";
  }

  TcpProxyFactory factory_;
  NiceMock<registry::MockFactoryContext> context_;
};

TEST_F(TcpProxyConfigTest, SpliceIsOnByDefaultWhenNoFilterReadsTheBytes) {
  EXPECT_TRUE(build("cluster: backend").splice);
  EXPECT_TRUE(build("cluster: backend\nsplice: true").splice);
}

TEST_F(TcpProxyConfigTest, SpliceFalseTurnsItOff) {
  EXPECT_FALSE(build("cluster: backend\nsplice: false").splice);
}

TEST_F(TcpProxyConfigTest, AFilterThatReadsTheBytesTurnsItOff) {
  context_.chain_filter_names_ = {"stats", "test_tcp_proxy_body_reader", "tcp_proxy"};
  EXPECT_FALSE(build("cluster: backend").splice);
  EXPECT_FALSE(build("cluster: backend\nsplice: true").splice);
}

TEST_F(TcpProxyConfigTest, SpliceMustBeABoolean) {
  std::string message = error("cluster: backend\nsplice: sometimes");
  EXPECT_EQ(0u, message.find("splice: ")) << message;
  EXPECT_NE(std::string::npos, message.find("sometimes")) << message;
}

}  // namespace
}  // namespace proxy::filters::tcp_proxy
