#include "filters/network/tcp_proxy/tcp_proxy.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "common/buffer/buffer_impl.h"
#include "common/upstream/cluster_impl.h"
#include "test/mocks/access_log/mocks.h"
#include "test/mocks/event/mocks.h"
#include "test/mocks/log/mocks.h"
#include "test/mocks/network/mocks.h"
#include "test/mocks/upstream/mocks.h"
#include "test/support/addresses.h"

using testing::_;
using testing::NiceMock;
using testing::Return;

namespace proxy::filters::tcp_proxy {
namespace {

network::Address loopback(uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return network::Address(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
}

class TcpProxyTest : public testing::Test {
 protected:
  // Builds the filter for a cluster of `ports` (0: an endpoint whose name did not resolve)
  // and starts the connection. Upstream connections are mocks that connect only when the
  // test says so.
  void start(std::vector<uint16_t> ports, std::chrono::milliseconds idle = std::chrono::hours(1)) {
    std::vector<upstream::Endpoint> endpoints;
    for (uint16_t port : ports) {
      upstream::Endpoint endpoint;
      endpoint.host = "127.0.0.1";
      endpoint.port = port;
      if (port != 0) {
        endpoint.address = loopback(port);
      }
      endpoints.push_back(endpoint);
    }
    startWith(std::make_shared<upstream::ClusterImpl>("backend", endpoints,
                                                      std::chrono::milliseconds(250)),
              idle);
  }

  void startWith(upstream::ClusterConstSharedPtr cluster,
                 std::chrono::milliseconds idle = std::chrono::hours(1)) {
    auto config = std::make_shared<TcpProxyConfig>();
    config->cluster = std::move(cluster);
    config->idle_timeout = idle;
    config->splice = splice_;
    config->splice_after_bytes = splice_after_bytes_;
    config->buffer_limit = buffer_limit_;
    config->listener_name = "tcp";
    config->logger = &logger_;
    config->access_log = access_log_;
    downstream().remote_address_ = loopback(5555);
    ON_CALL(dispatcher(), createClientConnection_(_))
        .WillByDefault([this](const network::Address& address) {
          auto* upstream = new NiceMock<network::MockClientConnection>();
          upstream->remote_address_ = address;
          ON_CALL(*upstream, connect()).WillByDefault(Return());
          // Both sides live on the worker's one dispatcher, as in the proxy.
          ON_CALL(*upstream, dispatcher()).WillByDefault(testing::ReturnRef(dispatcher()));
          upstreams_.push_back(upstream);
          return upstream;
        });
    filter_ = std::make_unique<TcpProxyFilter>(config);
    filter_->initializeReadFilterCallbacks(callbacks_);
    EXPECT_EQ(network::FilterStatus::kStopIteration, filter_->onNewConnection());
  }

  network::MockConnection& downstream() { return callbacks_.connection_; }
  event::MockDispatcher& dispatcher() { return callbacks_.connection_.dispatcher_; }
  network::MockClientConnection& upstream() { return *upstreams_.back(); }
  // The upstream connection's read filter, which carries its bytes to the downstream.
  network::ReadFilter& upstreamReader() { return *upstream().read_filters_.at(0); }
  event::MockTimer& timer(size_t index) { return *dispatcher().timers().at(index); }

  void connectUpstream() { upstream().raiseEvent(network::ConnectionEvent::kConnected); }
  // The client's bytes, as the downstream connection hands them to the filter.
  network::FilterStatus clientSends(std::string_view bytes, bool end_stream = false) {
    buffer::OwnedBuffer data;
    data.add(bytes);
    network::FilterStatus status = filter_->onData(data, end_stream);
    EXPECT_EQ(0u, data.length()) << "the filter takes the bytes";
    return status;
  }
  void failUpstream(int error) {
    upstream().failure_errno_ = error;
    upstream().failure_reason_ = std::strerror(error);
    upstream().state_ = network::ConnectionState::kClosed;
    upstream().raiseEvent(network::ConnectionEvent::kConnectFailed);
  }

  bool splice_ = true;               // the config's `splice`, for the next start()
  uint64_t splice_after_bytes_ = 0;  // splice from the start unless a test says otherwise
  uint32_t buffer_limit_ = 1024 * 1024;
  NiceMock<network::MockReadFilterCallbacks> callbacks_;
  std::vector<network::MockClientConnection*> upstreams_;  // owned by the filter or deferred
  std::unique_ptr<TcpProxyFilter> filter_;
  NiceMock<log::MockLogger> logger_;
  std::shared_ptr<NiceMock<access_log::MockAccessLogSink>> access_log_ =
      std::make_shared<NiceMock<access_log::MockAccessLogSink>>();
};

TEST_F(TcpProxyTest, BytesSentWhileConnectingAreHeldThenSent) {
  start({8080});
  // Reading stays on (no epoll change per connection); what arrives is held.
  EXPECT_EQ(0, downstream().read_disable_count_);
  EXPECT_TRUE(downstream().half_close_);
  EXPECT_EQ(loopback(8080), upstream().remote_address_);
  EXPECT_TRUE(upstream().half_close_);
  EXPECT_EQ("backend", downstream().info_.upstream_cluster);

  EXPECT_EQ(network::FilterStatus::kStopIteration, clientSends("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_EQ("", upstream().written_);

  connectUpstream();
  EXPECT_EQ("GET / HTTP/1.0\r\n\r\n", upstream().written_);
  EXPECT_FALSE(upstream().write_end_stream_);
  EXPECT_EQ(0, downstream().read_disable_count_);
  EXPECT_EQ(network::FailureCause::kNone, downstream().info_.failure);
}

TEST_F(TcpProxyTest, HalfCloseWhileConnectingReachesTheUpstreamOnConnect) {
  start({8080});
  clientSends("bye", true);
  connectUpstream();
  EXPECT_EQ("bye", upstream().written_);
  EXPECT_TRUE(upstream().write_end_stream_);
}

TEST_F(TcpProxyTest, MoreThanBufferLimitWhileConnectingStopsReadingUntilConnected) {
  buffer_limit_ = 8;
  start({8080});
  clientSends("1234");
  EXPECT_EQ(0, downstream().read_disable_count_);
  clientSends("5678");
  EXPECT_EQ(1, downstream().read_disable_count_) << "held bytes reached buffer_limit";

  connectUpstream();
  EXPECT_EQ("12345678", upstream().written_);
  EXPECT_EQ(0, downstream().read_disable_count_);
}

TEST_F(TcpProxyTest, HeldBytesThatFillTheUpstreamKeepTheClientUnread) {
  buffer_limit_ = 4;
  start({8080});
  clientSends("12345");
  ASSERT_EQ(1, downstream().read_disable_count_);
  // The upstream's buffer is past its watermark after the held bytes: reading resumes only
  // when it drains.
  ON_CALL(upstream(), write(_, _)).WillByDefault([this](buffer::Instance& data, bool) {
    upstream().written_ += data.toString();
    data.drain(data.length());
    upstream().above_high_watermark_ = true;
  });
  connectUpstream();
  EXPECT_EQ("12345", upstream().written_);
  EXPECT_EQ(1, downstream().read_disable_count_);
}

TEST_F(TcpProxyTest, BytesFlowBothWays) {
  start({8080});
  connectUpstream();

  buffer::OwnedBuffer request;
  request.add("ping");
  EXPECT_EQ(network::FilterStatus::kStopIteration, filter_->onData(request, false));
  EXPECT_EQ("ping", upstream().written_);
  EXPECT_EQ(0u, request.length());

  buffer::OwnedBuffer response;
  response.add("pong");
  upstreamReader().onData(response, false);
  EXPECT_EQ("pong", downstream().written_);
  EXPECT_FALSE(downstream().write_end_stream_);
}

TEST_F(TcpProxyTest, HalfCloseFromClientReachesUpstreamAndBack) {
  start({8080});
  connectUpstream();
  buffer::OwnedBuffer empty;
  filter_->onData(empty, true);
  EXPECT_TRUE(upstream().write_end_stream_);
  EXPECT_EQ(network::ConnectionState::kOpen, downstream().state_);

  // The upstream still answers after the client's FIN, then ends its side.
  buffer::OwnedBuffer reply;
  reply.add("late reply");
  upstreamReader().onData(reply, true);
  EXPECT_EQ("late reply", downstream().written_);
  EXPECT_TRUE(downstream().write_end_stream_);
}

TEST_F(TcpProxyTest, RefusedEndpointFallsThroughToNext) {
  start({8080, 8081});
  // Which endpoint comes first rotates per connection; the second try takes the other.
  network::Address first = upstream().remote_address_;
  failUpstream(ECONNREFUSED);
  ASSERT_EQ(2u, upstreams_.size());
  EXPECT_FALSE(first == upstream().remote_address_);
  connectUpstream();
  EXPECT_EQ(network::FailureCause::kNone, downstream().info_.failure);
  EXPECT_EQ(network::ConnectionState::kOpen, downstream().state_);
}

TEST_F(TcpProxyTest, AllEndpointsRefusedClosesClientWithCause) {
  start({8080, 8081});
  failUpstream(ECONNREFUSED);
  EXPECT_CALL(downstream(), close(network::ConnectionCloseType::kNoFlush, _));
  failUpstream(ECONNREFUSED);
  EXPECT_EQ(network::FailureCause::kUpstreamConnectRefused, downstream().info_.failure);
  EXPECT_EQ(2u, upstreams_.size());
}

TEST_F(TcpProxyTest, ConnectTimeoutTriesNextThenFails) {
  start({8080});
  event::MockTimer& connect_timer = timer(0);
  EXPECT_TRUE(connect_timer.enabled_);
  EXPECT_EQ(std::chrono::milliseconds(250), connect_timer.duration_);
  connect_timer.invokeCallback();
  EXPECT_EQ(network::FailureCause::kUpstreamConnectTimeout, downstream().info_.failure);
  EXPECT_EQ(network::ConnectionState::kClosed, downstream().state_);
  EXPECT_EQ(network::ConnectionState::kClosed, upstream().state_);
}

TEST_F(TcpProxyTest, UnresolvedEndpointIsNoHealthyEndpoint) {
  start({0});
  EXPECT_TRUE(upstreams_.empty());
  EXPECT_EQ(network::FailureCause::kNoHealthyEndpoint, downstream().info_.failure);
  EXPECT_EQ(network::ConnectionState::kClosed, downstream().state_);
}

TEST_F(TcpProxyTest, SlowUpstreamPausesClientReading) {
  start({8080});
  connectUpstream();
  upstream().raiseAboveHighWatermark();
  EXPECT_EQ(1, downstream().read_disable_count_);
  upstream().raiseAboveHighWatermark();  // nested signals do not nest the disable
  EXPECT_EQ(1, downstream().read_disable_count_);
  upstream().raiseBelowLowWatermark();
  EXPECT_EQ(0, downstream().read_disable_count_);
}

TEST_F(TcpProxyTest, SlowClientPausesUpstreamReading) {
  start({8080});
  connectUpstream();
  downstream().raiseAboveHighWatermark();
  EXPECT_EQ(1, upstream().read_disable_count_);
  downstream().raiseBelowLowWatermark();
  EXPECT_EQ(0, upstream().read_disable_count_);
}

TEST_F(TcpProxyTest, IdleTimeoutClosesBothSides) {
  start({8080}, std::chrono::milliseconds(500));
  connectUpstream();
  event::MockTimer& idle = timer(1);
  EXPECT_TRUE(idle.enabled_);
  EXPECT_EQ(std::chrono::milliseconds(500), idle.duration_);
  network::MockClientConnection& upstream_connection = upstream();
  idle.invokeCallback();
  EXPECT_EQ(network::FailureCause::kIdleTimeout, downstream().info_.failure);
  EXPECT_EQ(network::ConnectionState::kClosed, downstream().state_);
  EXPECT_EQ(network::ConnectionState::kClosed, upstream_connection.state_);
}

TEST_F(TcpProxyTest, TrafficRearmsIdleTimer) {
  start({8080}, std::chrono::milliseconds(500));
  connectUpstream();
  event::MockTimer& idle = timer(1);
  EXPECT_CALL(idle, enableTimer(std::chrono::milliseconds(500)));
  buffer::OwnedBuffer data;
  data.add("x");
  filter_->onData(data, false);
}

TEST_F(TcpProxyTest, ClientCloseFlushesUpstream) {
  start({8080});
  connectUpstream();
  EXPECT_CALL(upstream(), close(network::ConnectionCloseType::kFlushWrite, _));
  downstream().raiseEvent(network::ConnectionEvent::kRemoteClose);
}

TEST_F(TcpProxyTest, UpstreamResetIsRecordedAndClientClosedAfterFlush) {
  start({8080});
  connectUpstream();
  upstream().close_reason_ = "connection_reset";
  upstream().state_ = network::ConnectionState::kClosed;
  EXPECT_CALL(downstream(), close(network::ConnectionCloseType::kFlushWrite, _));
  upstream().raiseEvent(network::ConnectionEvent::kRemoteClose);
  EXPECT_EQ(network::FailureCause::kUpstreamReset, downstream().info_.failure);
}

// A mock cluster of mock hosts on 127.0.0.1 `ports`, tried in that order.
struct MockHosts {
  std::shared_ptr<NiceMock<upstream::MockCluster>> cluster =
      std::make_shared<NiceMock<upstream::MockCluster>>("mocked");
  std::vector<std::shared_ptr<NiceMock<upstream::MockHost>>> hosts;

  explicit MockHosts(std::vector<uint16_t> ports) {
    cluster->connect_timeout_ = std::chrono::milliseconds(250);
    for (uint16_t port : ports) {
      auto host = std::make_shared<NiceMock<upstream::MockHost>>();
      host->port_ = port;
      host->address_ = loopback(port);
      hosts.push_back(host);
      cluster->hosts_.push_back(host);
    }
  }
};

TEST_F(TcpProxyTest, ConnectOutcomesAndActiveConnectionsReachTheHosts) {
  MockHosts mocks({8080, 8081});
  startWith(mocks.cluster);
  EXPECT_EQ(1u, mocks.hosts[0]->active_requests_);
  failUpstream(ECONNREFUSED);
  EXPECT_EQ(1u, mocks.hosts[0]->connect_failures_);
  EXPECT_EQ(0u, mocks.hosts[0]->active_requests_);
  // The next choice excludes the host already tried.
  EXPECT_EQ(loopback(8081), upstream().remote_address_);
  EXPECT_EQ(1u, mocks.hosts[1]->active_requests_);
  connectUpstream();
  EXPECT_EQ(1u, mocks.hosts[1]->connect_successes_);
  EXPECT_EQ(1u, mocks.hosts[1]->active_requests_);
  upstream().state_ = network::ConnectionState::kClosed;
  upstream().raiseEvent(network::ConnectionEvent::kRemoteClose);
  EXPECT_EQ(0u, mocks.hosts[1]->active_requests_);
}

// socket(2) failing with EMFILE (and the like) is the proxy's own shortage: no endpoint is
// penalized, no other endpoint is tried (each would fail alike), the client is closed with
// its own cause, and the log says why.
TEST_F(TcpProxyTest, LocalResourceExhaustionIsNotTheEndpointsFault) {
  MockHosts mocks({8080, 8081});
  startWith(mocks.cluster);
  failUpstream(EMFILE);
  EXPECT_EQ(network::FailureCause::kLocalResourceExhausted, downstream().info_.failure);
  EXPECT_EQ(network::ConnectionState::kClosed, downstream().state_);
  EXPECT_EQ(1u, upstreams_.size()) << "another endpoint was tried";
  EXPECT_EQ(0u, mocks.hosts[0]->connect_failures_ + mocks.hosts[1]->connect_failures_);
  EXPECT_EQ(0u, mocks.hosts[0]->active_requests_ + mocks.hosts[1]->active_requests_);
  ASSERT_EQ(1u, logger_.lines_.size());
  EXPECT_EQ(
      "error local_resource_exhausted: listener tcp cluster mocked endpoint "
      "127.0.0.1:8080: Too many open files (the proxy could not open a socket; the "
      "endpoint is not penalized; raise the descriptor limit or lower max_connections)",
      logger_.lines_[0]);
}

TEST_F(TcpProxyTest, RefusedConnectLogsTheSystemsReason) {
  start({8080});
  failUpstream(ECONNREFUSED);
  ASSERT_EQ(1u, logger_.lines_.size());
  EXPECT_EQ(
      "warn upstream_connect_refused: listener tcp cluster backend endpoint 127.0.0.1:8080: "
      "Connection refused",
      logger_.lines_[0]);
}

TEST_F(TcpProxyTest, ConnectTimeoutIsReportedToTheHost) {
  MockHosts mocks({8080});
  startWith(mocks.cluster);
  timer(0).invokeCallback();
  EXPECT_EQ(1u, mocks.hosts[0]->connect_failures_);
  EXPECT_EQ(0u, mocks.hosts[0]->active_requests_);
  EXPECT_EQ(network::FailureCause::kUpstreamConnectTimeout, downstream().info_.failure);
}

TEST_F(TcpProxyTest, EjectedHostsAreSkippedAndNoneLeftIsNoHealthyEndpoint) {
  MockHosts mocks({8080, 8081});
  mocks.hosts[0]->healthy_ = false;
  startWith(mocks.cluster);
  EXPECT_EQ(loopback(8081), upstream().remote_address_);
  EXPECT_CALL(downstream(), close(network::ConnectionCloseType::kNoFlush, _));
  failUpstream(ECONNREFUSED);
  // Nothing else to try: the last attempt's cause.
  EXPECT_EQ(network::FailureCause::kUpstreamConnectRefused, downstream().info_.failure);
  EXPECT_EQ(1u, upstreams_.size());
}

TEST_F(TcpProxyTest, AllEjectedIsNoHealthyEndpoint) {
  MockHosts mocks({8080});
  mocks.hosts[0]->healthy_ = false;
  startWith(mocks.cluster);
  EXPECT_TRUE(upstreams_.empty());
  EXPECT_EQ(network::FailureCause::kNoHealthyEndpoint, downstream().info_.failure);
  EXPECT_EQ(network::ConnectionState::kClosed, downstream().state_);
}

TEST_F(TcpProxyTest, RefusalsEjectARealClustersHost) {
  upstream::ClusterSettings settings;
  settings.connect_timeout = std::chrono::milliseconds(250);
  settings.health.consecutive_failures = 1;
  auto cluster = std::make_shared<upstream::ClusterImpl>(
      "tcp_ejection",
      std::vector<upstream::Endpoint>{upstream::Endpoint{"127.0.0.1", 8080, loopback(8080), false},
                                      upstream::Endpoint{"127.0.0.1", 8081, loopback(8081), false}},
      settings);
  startWith(cluster);
  EXPECT_EQ(loopback(8080), upstream().remote_address_);
  failUpstream(ECONNREFUSED);
  connectUpstream();
  EXPECT_FALSE(cluster->hosts()[0]->healthy());
  EXPECT_EQ(1u, cluster->hosts()[1]->activeRequests());
  EXPECT_EQ(cluster->hosts()[1], cluster->chooseHost().host);
}

network::Address loopback6(uint16_t port) { return test::ipv6("::1", port); }

TEST_F(TcpProxyTest, RefusedAddressWalksToTheNameNextAddressWithoutAHealthPenalty) {
  MockHosts mocks({8080});
  mocks.hosts[0]->hostname_ = "dual.test";
  mocks.hosts[0]->address_ = loopback6(8080);
  mocks.hosts[0]->addresses_ = {loopback6(8080), loopback(8080)};
  startWith(mocks.cluster);
  EXPECT_EQ(loopback6(8080), upstream().remote_address_);
  clientSends("hello");
  failUpstream(ECONNREFUSED);
  ASSERT_EQ(2u, upstreams_.size());
  EXPECT_EQ(loopback(8080), upstream().remote_address_);
  EXPECT_EQ(loopback(8080), downstream().info_.upstream_address);
  EXPECT_EQ(0u, mocks.hosts[0]->connect_failures_);
  EXPECT_EQ(1u, mocks.hosts[0]->active_requests_);
  connectUpstream();
  EXPECT_EQ("hello", upstream().written_) << "what the client sent meanwhile is not lost";
  EXPECT_EQ(1u, mocks.hosts[0]->connect_successes_);
  // New connections start at the address that answered.
  EXPECT_THAT(mocks.hosts[0]->connected_addresses_, testing::ElementsAre(loopback(8080)));
  EXPECT_EQ(network::FailureCause::kNone, downstream().info_.failure);
  EXPECT_EQ(network::ConnectionState::kOpen, downstream().state_);
}

TEST_F(TcpProxyTest, HostFailsOnceWhenEveryAddressFailed) {
  MockHosts mocks({8080, 8081});
  mocks.hosts[0]->addresses_ = {loopback(8080), loopback6(8080)};
  startWith(mocks.cluster);
  failUpstream(ECONNREFUSED);
  EXPECT_EQ(loopback6(8080), upstream().remote_address_);
  EXPECT_EQ(0u, mocks.hosts[0]->connect_failures_);
  failUpstream(ENETUNREACH);
  EXPECT_EQ(1u, mocks.hosts[0]->connect_failures_);
  EXPECT_EQ(0u, mocks.hosts[0]->active_requests_);
  // Then the cluster's next host.
  EXPECT_EQ(loopback(8081), upstream().remote_address_);
  EXPECT_EQ(3u, upstreams_.size());
  EXPECT_TRUE(mocks.hosts[0]->connected_addresses_.empty());
}

TEST_F(TcpProxyTest, ConnectTimeoutIsSharedBetweenTheAddresses) {
  MockHosts mocks({8080});
  mocks.cluster->connect_timeout_ = std::chrono::milliseconds(10000);
  mocks.hosts[0]->addresses_ = {loopback(8080), loopback6(8080)};
  startWith(mocks.cluster);
  event::MockTimer& connect_timer = timer(0);
  // Half of the budget each while both remain (at least AddressWalk::kMinTryTime).
  EXPECT_LE(connect_timer.duration_, std::chrono::milliseconds(5000));
  EXPECT_GE(connect_timer.duration_, std::chrono::milliseconds(4900));
  connect_timer.invokeCallback();
  EXPECT_EQ(loopback6(8080), upstream().remote_address_);
  EXPECT_EQ(0u, mocks.hosts[0]->connect_failures_);
  // The last address gets what is left of the budget.
  EXPECT_GE(connect_timer.duration_, std::chrono::milliseconds(4900));
  EXPECT_LE(connect_timer.duration_, std::chrono::milliseconds(10000));
  connect_timer.invokeCallback();
  EXPECT_EQ(1u, mocks.hosts[0]->connect_failures_);
  EXPECT_EQ(network::FailureCause::kUpstreamConnectTimeout, downstream().info_.failure);
  EXPECT_EQ(network::ConnectionState::kClosed, downstream().state_);
}

TEST_F(TcpProxyTest, ConnectTimeoutLogsItsNameAndTheConnectionIsLogged) {
  start({8080});
  timer(0).invokeCallback();
  EXPECT_EQ(std::vector<std::string>{"info timeout connect_timeout (250ms) fired: listener tcp "
                                     "client 127.0.0.1:5555"},
            logger_.lines_);
  ASSERT_EQ(1u, access_log_->connections_.size());
  const auto& record = access_log_->connections_[0];
  EXPECT_EQ("tcp", record.listener);
  EXPECT_EQ(loopback(5555), record.client);
  EXPECT_EQ("backend", record.info.upstream_cluster);
  EXPECT_EQ(network::FailureCause::kUpstreamConnectTimeout, record.info.failure);
}

TEST_F(TcpProxyTest, IdleTimeoutLogsItsName) {
  start({8080}, std::chrono::milliseconds(500));
  connectUpstream();
  timer(1).invokeCallback();
  EXPECT_EQ(std::vector<std::string>{"info timeout idle_timeout (500ms) fired: listener tcp "
                                     "client 127.0.0.1:5555"},
            logger_.lines_);
  ASSERT_EQ(1u, access_log_->connections_.size());
  EXPECT_EQ(network::FailureCause::kIdleTimeout, access_log_->connections_[0].info.failure);
}

TEST_F(TcpProxyTest, OneLinePerConnectionWithItsBytes) {
  start({8080});
  connectUpstream();
  downstream().info_.bytes_received = 4;
  downstream().info_.bytes_sent = 7;
  downstream().raiseEvent(network::ConnectionEvent::kRemoteClose);
  downstream().raiseEvent(network::ConnectionEvent::kLocalClose);
  ASSERT_EQ(1u, access_log_->connections_.size());
  const auto& record = access_log_->connections_[0];
  EXPECT_EQ(4u, record.info.bytes_received);
  EXPECT_EQ(7u, record.info.bytes_sent);
  EXPECT_EQ(loopback(8080), record.info.upstream_address);
  EXPECT_EQ(network::FailureCause::kNone, record.info.failure);
}

TEST_F(TcpProxyTest, BothSidesGetTheDelayedCloseTimeout) {
  start({8080});
  EXPECT_EQ(network::kDefaultDelayedCloseTimeout, downstream().delayed_close_timeout_);
  EXPECT_EQ(network::kDefaultDelayedCloseTimeout, upstream().delayed_close_timeout_);
}

TEST_F(TcpProxyTest, ADelayedCloseTimeoutIsLoggedByNameWithItsCause) {
  start({8080}, std::chrono::milliseconds(0));
  connectUpstream();
  // The client never read what was left when the proxy closed it after a flush, and the
  // connection's delayed close timer ended it.
  downstream().close_reason_ = "delayed_close_timeout";
  downstream().info_.failure = network::FailureCause::kDelayedCloseTimeout;
  downstream().raiseEvent(network::ConnectionEvent::kLocalClose);
  EXPECT_EQ(std::vector<std::string>{"info timeout delayed_close_timeout (5s) fired: listener tcp "
                                     "client 127.0.0.1:5555"},
            logger_.lines_);
  ASSERT_EQ(1u, access_log_->connections_.size());
  EXPECT_EQ(network::FailureCause::kDelayedCloseTimeout, access_log_->connections_[0].info.failure);
}

TEST_F(TcpProxyTest, ClientResetIsTheCause) {
  start({8080});
  connectUpstream();
  downstream().close_reason_ = "connection_reset";
  downstream().raiseEvent(network::ConnectionEvent::kRemoteClose);
  EXPECT_EQ(network::FailureCause::kClientReset, downstream().info_.failure);
  ASSERT_EQ(1u, access_log_->connections_.size());
  EXPECT_EQ(network::FailureCause::kClientReset, access_log_->connections_[0].info.failure);
}

TEST_F(TcpProxyTest, ConnectedUpstreamIsSplicedToTheClient) {
  start({8080});
  EXPECT_CALL(downstream(), startSplice(testing::Ref(upstream()), _)).WillOnce(Return(true));
  connectUpstream();
  // Reading resumes either way: spliced, or through onData() when the splice was declined.
  EXPECT_EQ(0, downstream().read_disable_count_);
}

TEST_F(TcpProxyTest, DeclinedSpliceKeepsBytesFlowingThroughTheFilter) {
  start({8080});
  EXPECT_CALL(downstream(), startSplice(_, _)).WillRepeatedly(Return(false));
  connectUpstream();
  buffer::OwnedBuffer request;
  request.add("ping");
  filter_->onData(request, false);
  EXPECT_EQ("ping", upstream().written_);
}

TEST_F(TcpProxyTest, ShortExchangeIsCopiedNotSpliced) {
  splice_after_bytes_ = 64 * 1024;
  start({8080});
  EXPECT_CALL(downstream(), startSplice(_, _)).Times(0);
  connectUpstream();
  buffer::OwnedBuffer request;
  request.add("GET / HTTP/1.1\r\n\r\n");
  filter_->onData(request, false);
  buffer::OwnedBuffer response;
  response.add(std::string(1000, 'r'));
  upstreamReader().onData(response, false);
  EXPECT_EQ(1000u, downstream().written_.size());
}

TEST_F(TcpProxyTest, SpliceStartsOnceTheThresholdIsCopiedAndDeclinesAreRetried) {
  splice_after_bytes_ = 10;
  start({8080});
  connectUpstream();
  testing::InSequence order;
  EXPECT_CALL(downstream(), startSplice(testing::Ref(upstream()), _)).WillOnce(Return(false));
  EXPECT_CALL(downstream(), startSplice(testing::Ref(upstream()), _)).WillOnce(Return(true));

  buffer::OwnedBuffer bytes;
  bytes.add("123456");
  filter_->onData(bytes, false);  // 6 copied: below the threshold, no attempt
  bytes.add("7890");
  upstreamReader().onData(bytes, false);  // 10 copied: declined (e.g. bytes still queued)
  bytes.add("x");
  filter_->onData(bytes, false);  // tried again, accepted
  bytes.add("y");
  filter_->onData(bytes, false);  // spliced now: no further attempt
  EXPECT_EQ("123456xy", upstream().written_);
}

TEST_F(TcpProxyTest, SpliceOffNeverSplices) {
  splice_ = false;
  start({8080});
  EXPECT_CALL(downstream(), startSplice(_, _)).Times(0);
  connectUpstream();
  EXPECT_EQ(0, downstream().read_disable_count_);
}

TEST_F(TcpProxyTest, SplicedTrafficRearmsIdleTimer) {
  start({8080}, std::chrono::milliseconds(500));
  network::SpliceCallbacks* splice = nullptr;
  EXPECT_CALL(downstream(), startSplice(_, _))
      .WillOnce([&](network::Connection&, network::SpliceCallbacks& callbacks) {
        splice = &callbacks;
        return true;
      });
  connectUpstream();
  ASSERT_NE(nullptr, splice);
  event::MockTimer& idle = timer(1);
  EXPECT_CALL(idle, enableTimer(std::chrono::milliseconds(500)));
  splice->onSpliceActivity();
}

}  // namespace
}  // namespace proxy::filters::tcp_proxy
