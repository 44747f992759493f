// Instantiates every mock once and checks the defaults other tests rely on, so the mocks keep
// compiling and keep their documented behaviour as api/ changes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "test/mocks/buffer/mocks.h"
#include "test/mocks/event/mocks.h"
#include "test/mocks/network/mocks.h"
#include "test/mocks/registry/mocks.h"
#include "test/mocks/stats/mocks.h"
#include "test/mocks/upstream/mocks.h"

namespace proxy {
namespace {

using testing::_;
using testing::NiceMock;
using testing::StrictMock;

network::Address loopback(uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return network::Address(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
}

TEST(MocksTest, DispatcherDefaults) {
  NiceMock<event::MockDispatcher> dispatcher;
  EXPECT_EQ(dispatcher.name(), "test_dispatcher");
  EXPECT_TRUE(dispatcher.isThreadSafe());
  EXPECT_EQ(dispatcher.approximateMonotonicTime(), event::MonotonicTime{});
  dispatcher.time_ += std::chrono::seconds(3);
  EXPECT_EQ(dispatcher.approximateMonotonicTime(),
            event::MonotonicTime{} + std::chrono::seconds(3));

  bool posted = false;
  dispatcher.post([&posted] { posted = true; });
  EXPECT_TRUE(posted);

  auto connection = std::make_unique<NiceMock<network::MockConnection>>();
  dispatcher.deferredDelete(std::move(connection));
  EXPECT_EQ(dispatcher.to_delete_.size(), 1u);
  dispatcher.clearDeferredDeleteList();
  EXPECT_TRUE(dispatcher.to_delete_.empty());

  network::ClientConnectionPtr client = dispatcher.createClientConnection(loopback(8080));
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->remoteAddress().asString(), "127.0.0.1:8080");
  dispatcher.run();
  dispatcher.exit();
}

TEST(MocksTest, TimersAreTrackedAndFiredByHand) {
  NiceMock<event::MockDispatcher> dispatcher;
  int fired = 0;
  event::TimerPtr timer = dispatcher.createTimer([&fired] { ++fired; });
  ASSERT_EQ(dispatcher.timers().size(), 1u);
  event::MockTimer* mock = dispatcher.timers()[0];
  EXPECT_FALSE(timer->enabled());
  timer->enableTimer(std::chrono::milliseconds(250));
  EXPECT_TRUE(timer->enabled());
  EXPECT_EQ(mock->duration_, std::chrono::milliseconds(250));
  mock->invokeCallback();
  EXPECT_EQ(fired, 1);
  EXPECT_FALSE(timer->enabled());
  timer->enableTimer(std::chrono::milliseconds(1));
  timer->disableTimer();
  EXPECT_FALSE(timer->enabled());
  timer.reset();
  EXPECT_TRUE(dispatcher.timers().empty());
}

TEST(MocksTest, TimerMadeUpFrontIsHandedOutNext) {
  NiceMock<event::MockDispatcher> dispatcher;
  auto* timer = new NiceMock<event::MockTimer>(&dispatcher);
  EXPECT_CALL(*timer, enableTimer(std::chrono::milliseconds(5)));
  bool fired = false;
  event::TimerPtr owned = dispatcher.createTimer([&fired] { fired = true; });
  EXPECT_EQ(owned.get(), timer);
  owned->enableTimer(std::chrono::milliseconds(5));
  timer->invokeCallback();
  EXPECT_TRUE(fired);
  // The next timer is a fresh default one.
  event::TimerPtr another = dispatcher.createTimer([] {});
  EXPECT_NE(another.get(), timer);
  EXPECT_EQ(dispatcher.timers().size(), 2u);
}

TEST(MocksTest, TimerOutlivingItsDispatcherIsSafe) {
  event::TimerPtr timer;
  {
    NiceMock<event::MockDispatcher> dispatcher;
    timer = dispatcher.createTimer([] {});
  }
  timer.reset();
}

TEST(MocksTest, FileEvents) {
  NiceMock<event::MockDispatcher> dispatcher;
  uint32_t seen = 0;
  event::FileEventPtr event = dispatcher.createFileEvent(
      7, [&seen](uint32_t events) { seen = events; }, event::FileTriggerType::kLevel,
      event::FileReadyType::kRead);
  ASSERT_EQ(dispatcher.fileEvents().size(), 1u);
  event::MockFileEvent* mock = dispatcher.fileEvents()[0];
  EXPECT_EQ(mock->fd_, 7);
  EXPECT_EQ(mock->trigger_, event::FileTriggerType::kLevel);
  EXPECT_EQ(mock->enabled_events_, event::FileReadyType::kRead);
  event->setEnabled(event::FileReadyType::kWrite);
  EXPECT_EQ(mock->enabled_events_, event::FileReadyType::kWrite);
  mock->fire(event::FileReadyType::kClosed);
  EXPECT_EQ(seen, event::FileReadyType::kClosed);
  event->activate(event::FileReadyType::kRead);
  event->activate(event::FileReadyType::kWrite);
  EXPECT_EQ(seen, event::FileReadyType::kClosed);  // not reported from inside activate()
  mock->fireActivated();
  EXPECT_EQ(seen, event::FileReadyType::kRead | event::FileReadyType::kWrite);
  EXPECT_EQ(mock->activated_events_, 0u);
  event.reset();
  EXPECT_TRUE(dispatcher.fileEvents().empty());
}

TEST(MocksTest, ConnectionDefaults) {
  NiceMock<network::MockConnection> connection;
  NiceMock<network::MockConnection> other;
  EXPECT_NE(connection.id(), other.id());
  EXPECT_EQ(&connection.dispatcher(), &connection.dispatcher_);

  StrictMock<network::MockConnectionCallbacks> callbacks;
  connection.addConnectionCallbacks(callbacks);

  NiceMock<buffer::MockBuffer> data;
  data.add("hello");
  connection.write(data, false);
  data.add(" world");
  connection.write(data, true);
  EXPECT_EQ(connection.written_, "hello world");
  EXPECT_TRUE(connection.write_end_stream_);
  EXPECT_EQ(data.length(), 0u);

  EXPECT_TRUE(connection.readEnabled());
  connection.readDisable(true);
  connection.readDisable(true);
  connection.readDisable(false);
  EXPECT_FALSE(connection.readEnabled());
  connection.readDisable(false);
  EXPECT_TRUE(connection.readEnabled());

  connection.enableHalfClose(true);
  EXPECT_TRUE(connection.half_close_);
  connection.setBufferLimits(1024);
  EXPECT_EQ(connection.bufferLimit(), 1024u);

  EXPECT_CALL(callbacks, onAboveWriteBufferHighWatermark());
  connection.raiseAboveHighWatermark();
  EXPECT_TRUE(connection.aboveHighWatermark());
  EXPECT_CALL(callbacks, onBelowWriteBufferLowWatermark());
  connection.raiseBelowLowWatermark();
  EXPECT_FALSE(connection.aboveHighWatermark());

  connection.info().bytes_received = 42;
  EXPECT_EQ(connection.info_.bytes_received, 42u);
  connection.remote_address_ = loopback(1234);
  EXPECT_EQ(connection.remoteAddress().port(), 1234);
  EXPECT_FALSE(connection.localAddress().valid());

  EXPECT_EQ(connection.state(), network::ConnectionState::kOpen);
  EXPECT_CALL(callbacks, onEvent(network::ConnectionEvent::kLocalClose)).Times(1);
  connection.close(network::ConnectionCloseType::kNoFlush, "idle_timeout");
  connection.close(network::ConnectionCloseType::kNoFlush, "again");
  EXPECT_EQ(connection.state(), network::ConnectionState::kClosed);
  EXPECT_EQ(connection.closeReason(), "idle_timeout");

  auto read_filter = std::make_shared<NiceMock<network::MockReadFilter>>();
  auto write_filter = std::make_shared<NiceMock<network::MockWriteFilter>>();
  auto filter = std::make_shared<NiceMock<network::MockFilter>>();
  connection.addReadFilter(read_filter);
  connection.addWriteFilter(write_filter);
  connection.addFilter(filter);
  EXPECT_EQ(connection.read_filters_.size(), 2u);
  EXPECT_EQ(connection.write_filters_.size(), 2u);
  connection.initializeReadFilters();
}

TEST(MocksTest, ClientConnectionDefaults) {
  NiceMock<network::MockClientConnection> connection;
  StrictMock<network::MockConnectionCallbacks> callbacks;
  connection.addConnectionCallbacks(callbacks);
  EXPECT_CALL(callbacks, onEvent(network::ConnectionEvent::kConnected));
  connection.connect();
  connection.failure_reason_ = "connection refused";
  connection.failure_errno_ = ECONNREFUSED;
  EXPECT_EQ(connection.failureReason(), "connection refused");
  EXPECT_EQ(connection.failureErrno(), ECONNREFUSED);
  connection.info().upstream_cluster = "backend";
  EXPECT_EQ(connection.info_.upstream_cluster, "backend");
  EXPECT_CALL(callbacks, onEvent(network::ConnectionEvent::kRemoteClose));
  connection.raiseEvent(network::ConnectionEvent::kRemoteClose);
}

TEST(MocksTest, FiltersAndTheirCallbacks) {
  NiceMock<network::MockReadFilterCallbacks> read_callbacks;
  NiceMock<network::MockWriteFilterCallbacks> write_callbacks;
  EXPECT_EQ(&read_callbacks.connection(), &read_callbacks.connection_);
  EXPECT_EQ(&write_callbacks.connection(), &write_callbacks.connection_);
  read_callbacks.continueReading();

  NiceMock<buffer::MockBuffer> data;
  NiceMock<network::MockReadFilter> read_filter;
  read_filter.initializeReadFilterCallbacks(read_callbacks);
  EXPECT_EQ(read_filter.callbacks_, &read_callbacks);
  EXPECT_EQ(read_filter.onNewConnection(), network::FilterStatus::kContinue);
  EXPECT_EQ(read_filter.onData(data, false), network::FilterStatus::kContinue);

  NiceMock<network::MockWriteFilter> write_filter;
  write_filter.initializeWriteFilterCallbacks(write_callbacks);
  EXPECT_EQ(write_filter.write_callbacks_, &write_callbacks);
  EXPECT_EQ(write_filter.onWrite(data, true), network::FilterStatus::kContinue);

  NiceMock<network::MockFilter> filter;
  filter.initializeReadFilterCallbacks(read_callbacks);
  filter.initializeWriteFilterCallbacks(write_callbacks);
  EXPECT_EQ(filter.callbacks_, &read_callbacks);
  EXPECT_EQ(filter.write_callbacks_, &write_callbacks);
  EXPECT_EQ(filter.onNewConnection(), network::FilterStatus::kContinue);
  EXPECT_EQ(filter.onData(data, false), network::FilterStatus::kContinue);
  EXPECT_EQ(filter.onWrite(data, false), network::FilterStatus::kContinue);

  NiceMock<network::MockFilterManager> manager;
  manager.addReadFilter(std::make_shared<NiceMock<network::MockReadFilter>>());
  manager.addFilter(std::make_shared<NiceMock<network::MockFilter>>());
  manager.addWriteFilter(std::make_shared<NiceMock<network::MockWriteFilter>>());
  EXPECT_EQ(manager.read_filters_.size(), 2u);
  EXPECT_EQ(manager.write_filters_.size(), 2u);
}

TEST(MocksTest, BufferDelegatesToARealBuffer) {
  NiceMock<buffer::MockBuffer> data;
  EXPECT_CALL(data, drain(2));
  data.add("abcdef");
  data.drain(2);
  testing::Mock::VerifyAndClearExpectations(&data);
  EXPECT_EQ(data.length(), 4u);
  EXPECT_EQ(data.toString(), "cdef");
  char out[2];
  data.copyOut(1, 2, out);
  EXPECT_EQ(std::string(out, 2), "de");
  buffer::RawSlice slice;
  EXPECT_EQ(data.getRawSlices(&slice, 1), 1u);
  EXPECT_EQ(std::string(static_cast<char*>(data.linearize(4)), 4), "cdef");

  NiceMock<buffer::MockBuffer> other;
  other.move(data, 1);
  other.move(data);
  EXPECT_EQ(other.toString(), "cdef");
  EXPECT_EQ(data.length(), 0u);
}

TEST(MocksTest, StatsMocks) {
  NiceMock<stats::MockScope> mock_scope;
  stats::Scope& scope = mock_scope;
  stats::Counter& counter = scope.counter("c_total", "C.", {{"a", "1"}});
  EXPECT_EQ(&counter, &scope.counter("c_total", "C.", {{"a", "1"}}));
  EXPECT_NE(&counter, &scope.counter("c_total", "C.", {{"a", "2"}}));
  EXPECT_CALL(mock_scope.counterFor("c_total", {{"a", "1"}}), inc(3));
  counter.inc(3);
  EXPECT_EQ(counter.value(), 3u);

  stats::Gauge& gauge = scope.gauge("g", "G.");
  gauge.inc();
  gauge.inc();
  gauge.dec();
  EXPECT_EQ(gauge.value(), 1);

  scope.histogram("h", "H.", {}, {1}).recordValue(0.5);
  EXPECT_EQ(mock_scope.histogramFor("h").values_, std::vector<double>{0.5});
}

TEST(MocksTest, UpstreamMocks) {
  NiceMock<upstream::MockClusterManager> manager;
  EXPECT_EQ(manager.get("missing"), nullptr);
  upstream::Endpoint endpoint;
  endpoint.host = "127.0.0.1";
  endpoint.port = 8080;
  manager.addCluster("backend", {endpoint});
  upstream::ClusterConstSharedPtr cluster = manager.get("backend");
  ASSERT_NE(cluster, nullptr);
  EXPECT_EQ(cluster->name(), "backend");
  ASSERT_EQ(cluster->hosts().size(), 1u);
  EXPECT_EQ(cluster->hosts().at(0)->port(), 8080);
  // Unresolved: nothing to choose.
  EXPECT_EQ(cluster->chooseHost().host, nullptr);
  EXPECT_EQ(cluster->connectTimeout(), std::chrono::milliseconds(5000));

  NiceMock<upstream::MockCluster> standalone;
  EXPECT_EQ(standalone.name(), "test_cluster");
}

TEST(MocksTest, RegistryMocks) {
  NiceMock<registry::MockFactoryContext> context;
  EXPECT_EQ(&context.clusterManager(), &context.cluster_manager_);
  EXPECT_EQ(context.listenerName(), "test_listener");
  context.chain_filter_names_ = {"stats", "tcp_proxy"};
  EXPECT_EQ(context.chainFilterNames().size(), 2u);
  context.scope().counter("counted_total", "Counted.").inc(2);
  EXPECT_EQ(context.store_.counter("counted_total", "Counted.").value(), 2u);

  NiceMock<registry::MockNamedNetworkFilterFactory> factory("my_filter");
  EXPECT_EQ(factory.name(), "my_filter");
  EXPECT_FALSE(factory.capabilities().terminal);
  factory.capabilities_.terminal = true;
  EXPECT_TRUE(factory.capabilities().terminal);
  registry::NetworkFilterFactoryCb cb = factory.createFilterFactory(YAML::Node(), context);
  NiceMock<network::MockFilterManager> manager;
  cb(manager);
  EXPECT_TRUE(manager.read_filters_.empty());
}

}  // namespace
}  // namespace proxy
