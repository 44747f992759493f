#include "filters/http/router/config.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "api/registry/config_error.h"
#include "api/registry/registry.h"
#include "common/http/connection_pool.h"
#include "common/router/route_impl.h"
#include "common/upstream/cluster_impl.h"
#include "filters/http/router/router.h"
#include "test/mocks/http/mocks.h"
#include "test/mocks/network/mocks.h"
#include "test/mocks/registry/mocks.h"

namespace proxy::filters::router {
namespace {

using testing::_;
using testing::NiceMock;
using testing::ReturnRef;

class RouterConfigTest : public testing::Test {
 protected:
  ~RouterConfigTest() override {
    // The default pools live in the thread's registry, keyed by this test's dispatcher.
    http::ConnectionPools::releaseDispatcher(callbacks_.dispatcher_);
  }

  http::StreamDecoderFilterSharedPtr build(const std::string& yaml) {
    registry::HttpFilterFactoryCb install =
        factory_.createFilterFactory(YAML::Load(yaml), context_);
    NiceMock<http::MockFilterChainFactoryCallbacks> chain;
    install(chain);
    EXPECT_EQ(1u, chain.decoder_filters_.size());
    EXPECT_TRUE(chain.encoder_filters_.empty());
    return chain.decoder_filters_.at(0);
  }

  std::string errorField(const std::string& yaml) {
    try {
      factory_.createFilterFactory(YAML::Load(yaml), context_);
    } catch (const registry::ConfigError& error) {
      return error.field();
    }
    return "(no error)";
  }

  // Sends a GET through `filter` to a one-endpoint cluster and returns the upstream mock.
  network::MockClientConnection& forward(http::StreamDecoderFilter& filter) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(8080);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    upstream::Endpoint endpoint;
    endpoint.host = "127.0.0.1";
    endpoint.port = 8080;
    endpoint.address = network::Address(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
    auto cluster = std::make_shared<upstream::ClusterImpl>(
        "backend", std::vector<upstream::Endpoint>{endpoint}, std::chrono::milliseconds(250));
    callbacks_.route_ =
        std::make_shared<proxy::router::RouteImpl>("r", "host_router", cluster, false);
    ON_CALL(callbacks_.dispatcher_, createClientConnection_(_))
        .WillByDefault([this](const network::Address&) {
          upstream_ = new NiceMock<network::MockClientConnection>();
          ON_CALL(*upstream_, dispatcher()).WillByDefault(ReturnRef(callbacks_.dispatcher_));
          return upstream_;
        });
    filter.setDecoderFilterCallbacks(callbacks_);
    headers_.setMethod("GET");
    headers_.setPath("/");
    filter.decodeHeaders(headers_, true);
    EXPECT_NE(nullptr, upstream_);
    return *upstream_;
  }

  bool timerArmedFor(std::chrono::milliseconds duration) {
    for (event::MockTimer* timer : callbacks_.dispatcher_.timers()) {
      if (timer->enabled_ && timer->duration_ == duration) {
        return true;
      }
    }
    return false;
  }

  RouterFactory factory_;
  NiceMock<registry::MockFactoryContext> context_;
  NiceMock<http::MockStreamDecoderFilterCallbacks> callbacks_;
  http::RequestHeaderMap headers_;
  network::MockClientConnection* upstream_ = nullptr;  // owned by its pooled connection
};

TEST_F(RouterConfigTest, IsRegisteredAsTerminalWithoutReadingBodies) {
  EXPECT_NE(nullptr, registry::httpFilters().get("router"));
  EXPECT_EQ("router", factory_.name());
  EXPECT_TRUE(factory_.capabilities().terminal);
  EXPECT_FALSE(factory_.capabilities().reads_body);
}

TEST_F(RouterConfigTest, EmptyConfigUsesTheDefaultsAndTheWorkersPools) {
  http::StreamDecoderFilterSharedPtr filter = build("");
  network::MockClientConnection& upstream = forward(*filter);
  EXPECT_EQ(1024u * 1024u, upstream.buffer_limit_);
  upstream.raiseEvent(network::ConnectionEvent::kConnected);
  EXPECT_TRUE(timerArmedFor(std::chrono::seconds(60)));
  filter->onDestroy();
}

TEST_F(RouterConfigTest, OptionsAreApplied) {
  http::StreamDecoderFilterSharedPtr filter = build("{response_timeout: 2s, buffer_limit: 32768}");
  network::MockClientConnection& upstream = forward(*filter);
  EXPECT_EQ(32768u, upstream.buffer_limit_);
  EXPECT_TRUE(timerArmedFor(std::chrono::seconds(2)));
  filter->onDestroy();
}

TEST_F(RouterConfigTest, MistakesNameTheirField) {
  EXPECT_EQ("retries", errorField("{retries: 3}"));
  EXPECT_EQ("response_timeout", errorField("{response_timeout: soon}"));
  EXPECT_EQ("buffer_limit", errorField("{buffer_limit: 10}"));
  EXPECT_EQ("buffer_limit", errorField("{buffer_limit: lots}"));
}

}  // namespace
}  // namespace proxy::filters::router
