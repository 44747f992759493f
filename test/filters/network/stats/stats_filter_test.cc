#include "filters/network/stats/stats_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/registry/config_error.h"
#include "common/buffer/buffer_impl.h"
#include "filters/network/stats/config.h"
#include "test/mocks/network/mocks.h"
#include "test/mocks/registry/mocks.h"

using testing::NiceMock;

namespace proxy::filters::network_stats {
namespace {

class StatsFilterTest : public testing::Test {
 protected:
  // Builds the factory for a chain ending in `terminal` and installs one filter.
  void build(const std::string& terminal) {
    context_.chain_filter_names_ = {"stats", terminal};
    auto install = StatsFactory().createFilterFactory(YAML::Node(), context_);
    NiceMock<network::MockFilterManager> manager;
    install(manager);
    ASSERT_EQ(1u, manager.read_filters_.size());
    ASSERT_EQ(1u, manager.write_filters_.size());
    filter_ = std::dynamic_pointer_cast<StatsFilter>(manager.read_filters_[0]);
    ASSERT_NE(nullptr, filter_);
    filter_->initializeReadFilterCallbacks(callbacks_);
  }

  // The value of `name` with `labels` in the store, or -1 if absent.
  double value(const std::string& name, const stats::Labels& labels = {}) {
    for (const auto& family : context_.store_.snapshot()) {
      if (family.name != name) {
        continue;
      }
      for (const auto& metric : family.metrics) {
        if (metric.labels == labels) {
          return metric.value;
        }
      }
    }
    return -1;
  }

  network::MockConnection& connection() { return callbacks_.connection_; }

  NiceMock<registry::MockFactoryContext> context_;
  NiceMock<network::MockReadFilterCallbacks> callbacks_;
  std::shared_ptr<StatsFilter> filter_;
  const stats::Labels listener_{{"listener", "test_listener"}};
};

TEST_F(StatsFilterTest, CountsConnectionsOpenAndClosed) {
  build("tcp_proxy");
  filter_->onNewConnection();
  EXPECT_EQ(1, value("proxy_listener_connections_total", listener_));
  EXPECT_EQ(1, value("proxy_listener_connections_active", listener_));
  EXPECT_EQ(1, value("tcp_connections_total_count"));
  EXPECT_EQ(1, value("tcp_connections_active_count"));
  connection().raiseEvent(network::ConnectionEvent::kRemoteClose);
  EXPECT_EQ(0, value("proxy_listener_connections_active", listener_));
  EXPECT_EQ(0, value("tcp_connections_active_count"));
  EXPECT_EQ(1, value("tcp_connections_total_count"));
}

TEST_F(StatsFilterTest, LegacyNamesOnlyOverTcpProxy) {
  build("something_else");
  filter_->onNewConnection();
  EXPECT_EQ(-1, value("tcp_connections_total_count"));
  EXPECT_EQ(1, value("proxy_listener_connections_total", listener_));
}

TEST_F(StatsFilterTest, CountsBytesOnceEvenWhenLeftInTheBuffer) {
  build("tcp_proxy");
  filter_->onNewConnection();
  buffer::OwnedBuffer data;
  data.add("12345");
  connection().info_.bytes_received = 5;
  filter_->onData(data, false);
  // The same bytes shown again with three more.
  connection().info_.bytes_received = 8;
  filter_->onData(data, false);
  EXPECT_EQ(8, value("proxy_listener_received_bytes_total", listener_));
  buffer::OwnedBuffer out;
  out.add("abc");
  filter_->onWrite(out, false);
  EXPECT_EQ(3, value("proxy_listener_sent_bytes_total", listener_));
}

TEST_F(StatsFilterTest, FailureCauseCountedAtClose) {
  build("tcp_proxy");
  filter_->onNewConnection();
  connection().info_.failure = network::FailureCause::kUpstreamConnectRefused;
  connection().raiseEvent(network::ConnectionEvent::kLocalClose);
  stats::Labels refused = listener_;
  refused.emplace_back("cause", "upstream_connect_refused");
  EXPECT_EQ(1, value("proxy_listener_connection_failures_total", refused));
  EXPECT_EQ(1, value("proxy_listener_upstream_connect_failures_total", listener_));
  // A second close event is not counted again.
  connection().raiseEvent(network::ConnectionEvent::kLocalClose);
  EXPECT_EQ(1, value("proxy_listener_connection_failures_total", refused));
}

TEST_F(StatsFilterTest, RejectsAnyConfig) {
  YAML::Node config = YAML::Load("{unexpected: 1}");
  EXPECT_THROW(StatsFactory().createFilterFactory(config, context_), registry::ConfigError);
}

}  // namespace
}  // namespace proxy::filters::network_stats
