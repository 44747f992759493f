#include "common/http/connection_pool.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "common/buffer/buffer_impl.h"
#include "test/mocks/event/mocks.h"
#include "test/mocks/network/mocks.h"

using testing::_;
using testing::NiceMock;
using testing::Return;
using testing::ReturnRef;

namespace proxy::http {
namespace {

network::Address loopback(uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return network::Address(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
}

// Records what a stream using a pooled connection hears.
class MockPooledConnectionCallbacks : public PooledConnectionCallbacks {
 public:
  MockPooledConnectionCallbacks() {
    ON_CALL(*this, onResponseHeaders(_, _))
        .WillByDefault([this](ResponseHeaderMapPtr headers, bool end_stream) {
          statuses_.push_back(headers->status());
          complete_ = complete_ || end_stream;
        });
    ON_CALL(*this, onResponseData(_, _))
        .WillByDefault([this](buffer::Instance& data, bool end_stream) {
          body_ += data.toString();
          data.drain(data.length());
          complete_ = complete_ || end_stream;
        });
    ON_CALL(*this, onUpstreamFailure(_, _))
        .WillByDefault([this](UpstreamFailure failure, std::string_view reason) {
          failures_.push_back(failure);
          reason_ = std::string(reason);
        });
  }

  // http::ClientCodecCallbacks
  MOCK_METHOD(void, onResponseHeaders, (ResponseHeaderMapPtr headers, bool end_stream), (override));
  MOCK_METHOD(void, onResponseData, (buffer::Instance & data, bool end_stream), (override));
  MOCK_METHOD(void, onResponseTrailers, (HeaderMapPtr trailers), (override));
  // http::PooledConnectionCallbacks
  MOCK_METHOD(void, onUpstreamFailure, (UpstreamFailure failure, std::string_view reason),
              (override));
  MOCK_METHOD(void, onUpstreamAboveWriteBufferHighWatermark, (), (override));
  MOCK_METHOD(void, onUpstreamBelowWriteBufferLowWatermark, (), (override));
  MOCK_METHOD(void, onUpstreamResponseTimeout, (), (override));

  std::vector<int> statuses_;
  std::string body_;
  bool complete_ = false;
  std::vector<UpstreamFailure> failures_;
  std::string reason_;
};

class ConnectionPoolTest : public testing::Test {
 protected:
  ConnectionPoolTest() {
    ON_CALL(dispatcher_, createClientConnection_(_))
        .WillByDefault([this](const network::Address& address) {
          auto* upstream = new NiceMock<network::MockClientConnection>();
          upstream->remote_address_ = address;
          // Connecting completes when the test says so.
          ON_CALL(*upstream, connect()).WillByDefault(Return());
          ON_CALL(*upstream, dispatcher()).WillByDefault(ReturnRef(dispatcher_));
          upstreams_.push_back(upstream);
          return upstream;
        });
  }

  ~ConnectionPoolTest() override { ConnectionPools::releaseDispatcher(dispatcher_); }

  ConnectionPool& pool() {
    if (pool_ == nullptr) {
      pool_ = std::make_unique<ConnectionPool>(dispatcher_, loopback(8080), settings_);
    }
    return *pool_;
  }

  // A connection from the pool, attached, connected if new, with a GET request sent.
  PooledConnectionPtr startExchange(MockPooledConnectionCallbacks& callbacks) {
    PooledConnectionPtr connection = pool().acquire();
    connection->attach(callbacks, 1024 * 1024);
    RequestHeaderMap request;
    request.setMethod("GET");
    request.setPath("/");
    request.add("host", "backend");
    connection->encodeHeaders(request, true);
    if (!connection->connected()) {
      connection->connect(std::chrono::milliseconds(250));
      mock(*connection).raiseEvent(network::ConnectionEvent::kConnected);
    }
    return connection;
  }

  static network::MockClientConnection& mock(PooledConnection& connection) {
    return dynamic_cast<network::MockClientConnection&>(connection.connection());
  }

  // Bytes from the upstream, as the connection's read filter sees them.
  static void receive(PooledConnection& connection, std::string_view bytes) {
    buffer::OwnedBuffer data;
    data.add(bytes);
    mock(connection).read_filters_.at(0)->onData(data, false);
  }

  static void remoteClose(PooledConnection& connection, const char* reason = "remote_close") {
    auto& upstream = mock(connection);
    upstream.state_ = network::ConnectionState::kClosed;
    upstream.close_reason_ = reason;
    upstream.raiseEvent(network::ConnectionEvent::kRemoteClose);
  }

  NiceMock<event::MockDispatcher> dispatcher_;
  ConnectionPoolSettings settings_;
  std::unique_ptr<ConnectionPool> pool_;
  std::vector<network::MockClientConnection*> upstreams_;  // owned by their PooledConnection
  NiceMock<MockPooledConnectionCallbacks> callbacks_;
};

constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

TEST_F(ConnectionPoolTest, NewConnectionConnectsToThePoolAddress) {
  PooledConnectionPtr connection = pool().acquire();
  ASSERT_EQ(1u, upstreams_.size());
  EXPECT_FALSE(connection->connected());
  EXPECT_FALSE(connection->reused());
  EXPECT_EQ(loopback(8080), upstreams_[0]->remote_address_);
  connection->attach(callbacks_, 4096);
  EXPECT_EQ(4096u, upstreams_[0]->buffer_limit_);
  EXPECT_CALL(*upstreams_[0], connect());
  connection->connect(std::chrono::milliseconds(250));
  upstreams_[0]->raiseEvent(network::ConnectionEvent::kConnected);
  EXPECT_TRUE(connection->connected());
  pool().release(std::move(connection));
}

TEST_F(ConnectionPoolTest, RequestIsWrittenAndResponseDelivered) {
  PooledConnectionPtr connection = startExchange(callbacks_);
  EXPECT_EQ("GET / HTTP/1.1\r\nhost: backend\r\n\r\n", upstreams_[0]->written_);
  EXPECT_FALSE(connection->responseStarted());
  receive(*connection, kOk);
  EXPECT_TRUE(connection->responseStarted());
  EXPECT_EQ(std::vector<int>{200}, callbacks_.statuses_);
  EXPECT_EQ("ok", callbacks_.body_);
  EXPECT_TRUE(callbacks_.complete_);
  EXPECT_TRUE(connection->reusable());
  pool().release(std::move(connection));
}

TEST_F(ConnectionPoolTest, CompletedConnectionIsReusedLastInFirstOut) {
  PooledConnectionPtr first = startExchange(callbacks_);
  PooledConnectionPtr second = startExchange(callbacks_);
  receive(*first, kOk);
  receive(*second, kOk);
  PooledConnection* second_raw = second.get();
  pool().release(std::move(first));
  pool().release(std::move(second));
  EXPECT_EQ(2u, pool().idleCount());

  PooledConnectionPtr reused = pool().acquire();
  EXPECT_EQ(second_raw, reused.get());
  EXPECT_TRUE(reused->connected());
  EXPECT_TRUE(reused->reused());
  EXPECT_FALSE(reused->responseStarted());
  EXPECT_EQ(2u, upstreams_.size());
  EXPECT_EQ(1u, pool().idleCount());

  // The next exchange on it works like the first.
  NiceMock<MockPooledConnectionCallbacks> next;
  reused->attach(next, 1024 * 1024);
  RequestHeaderMap request;
  request.setMethod("GET");
  request.setPath("/again");
  reused->encodeHeaders(request, true);
  EXPECT_THAT(upstreams_[1]->written_, testing::EndsWith("GET /again HTTP/1.1\r\n\r\n"));
  receive(*reused, kOk);
  EXPECT_EQ("ok", next.body_);
  EXPECT_TRUE(callbacks_.failures_.empty());
  pool().release(std::move(reused));
  EXPECT_EQ(2u, pool().idleCount());
}

TEST_F(ConnectionPoolTest, ResponseTimerFiresForTheUserAndIsReusedByTheNextExchange) {
  static constexpr std::chrono::milliseconds kTimeout{1234};
  auto response_timers = [this] {
    std::vector<event::MockTimer*> found;
    for (event::MockTimer* timer : dispatcher_.timers()) {
      if (timer->duration_ == kTimeout) {
        found.push_back(timer);
      }
    }
    return found;
  };
  PooledConnectionPtr connection = startExchange(callbacks_);
  connection->armResponseTimer(kTimeout);
  ASSERT_EQ(1u, response_timers().size());
  event::MockTimer* timer = response_timers()[0];
  EXPECT_TRUE(timer->enabled_);
  receive(*connection, kOk);
  connection->disarmResponseTimer();
  EXPECT_FALSE(timer->enabled_);
  pool().release(std::move(connection));

  // The next exchange on the same connection arms the same timer: none is made per request.
  NiceMock<MockPooledConnectionCallbacks> next;
  PooledConnectionPtr reused = startExchange(next);
  ASSERT_TRUE(reused->reused());
  reused->armResponseTimer(kTimeout);
  ASSERT_EQ(1u, response_timers().size());
  EXPECT_EQ(timer, response_timers()[0]);
  EXPECT_TRUE(timer->enabled_);
  EXPECT_CALL(next, onUpstreamResponseTimeout());
  EXPECT_CALL(callbacks_, onUpstreamResponseTimeout()).Times(0);
  timer->invokeCallback();
  testing::Mock::VerifyAndClearExpectations(&next);

  // Released, the connection disarms it: a late expiry reaches nobody.
  timer->enabled_ = true;
  pool().release(std::move(reused));
  EXPECT_FALSE(timer->enabled_);
}

TEST_F(ConnectionPoolTest, ConnectionCloseResponseIsNotPooled) {
  PooledConnectionPtr connection = startExchange(callbacks_);
  receive(*connection, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(callbacks_.complete_);
  EXPECT_FALSE(connection->reusable());
  EXPECT_CALL(dispatcher_, deferredDelete_(_));
  pool().release(std::move(connection));
  EXPECT_EQ(0u, pool().idleCount());
  EXPECT_EQ(network::ConnectionState::kClosed, upstreams_[0]->state_);
  EXPECT_EQ("connection_close", upstreams_[0]->close_reason_);
}

TEST_F(ConnectionPoolTest, UnfinishedExchangeIsClosedNotPooled) {
  PooledConnectionPtr connection = startExchange(callbacks_);
  receive(*connection, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf");
  pool().release(std::move(connection));
  EXPECT_EQ(0u, pool().idleCount());
  EXPECT_EQ("exchange_unfinished", upstreams_[0]->close_reason_);
  // The response's end is nobody's business any more.
  EXPECT_TRUE(callbacks_.failures_.empty());
}

TEST_F(ConnectionPoolTest, RequestNotFullySentIsNotPooled) {
  PooledConnectionPtr connection = pool().acquire();
  connection->attach(callbacks_, 1024 * 1024);
  RequestHeaderMap request;
  request.setMethod("POST");
  request.setPath("/upload");
  connection->encodeHeaders(request, false);
  connection->connect(std::chrono::milliseconds(250));
  upstreams_[0]->raiseEvent(network::ConnectionEvent::kConnected);
  // An early answer while the body is still coming.
  receive(*connection, "HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(callbacks_.complete_);
  EXPECT_FALSE(connection->reusable());
  pool().release(std::move(connection));
  EXPECT_EQ(0u, pool().idleCount());
  EXPECT_EQ("exchange_unfinished", upstreams_[0]->close_reason_);
}

TEST_F(ConnectionPoolTest, IdleConnectionClosedByUpstreamIsRemoved) {
  PooledConnectionPtr connection = startExchange(callbacks_);
  receive(*connection, kOk);
  PooledConnection* raw = connection.get();
  pool().release(std::move(connection));
  EXPECT_CALL(dispatcher_, deferredDelete_(raw));
  remoteClose(*raw);
  EXPECT_EQ(0u, pool().idleCount());
  // Nobody is told: nobody was using it.
  EXPECT_TRUE(callbacks_.failures_.empty());
  PooledConnectionPtr fresh = pool().acquire();
  EXPECT_EQ(2u, upstreams_.size());
  EXPECT_FALSE(fresh->connected());
}

TEST_F(ConnectionPoolTest, BytesOnIdleConnectionCloseIt) {
  PooledConnectionPtr connection = startExchange(callbacks_);
  receive(*connection, kOk);
  PooledConnection* raw = connection.get();
  pool().release(std::move(connection));
  receive(*raw, "HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(0u, pool().idleCount());
  EXPECT_EQ(network::ConnectionState::kClosed, upstreams_[0]->state_);
  EXPECT_EQ("unexpected_data", upstreams_[0]->close_reason_);
  EXPECT_EQ(1u, dispatcher_.to_delete_.size());
}

TEST_F(ConnectionPoolTest, BytesAfterCompleteResponseCloseTheConnection) {
  PooledConnectionPtr connection = startExchange(callbacks_);
  PooledConnection* raw = connection.get();
  // The user lets go of the connection as soon as its response is complete.
  EXPECT_CALL(callbacks_, onResponseData(_, true)).WillOnce([&](buffer::Instance& data, bool) {
    data.drain(data.length());
    pool().release(std::move(connection));
  });
  receive(*raw, std::string(kOk) + "extra");
  EXPECT_EQ(nullptr, connection);
  EXPECT_EQ(0u, pool().idleCount());
  EXPECT_EQ(network::ConnectionState::kClosed, upstreams_[0]->state_);
  EXPECT_TRUE(callbacks_.failures_.empty());
}

TEST_F(ConnectionPoolTest, IdleTimeoutClosesTheOldestFirst) {
  settings_.idle_timeout = std::chrono::seconds(60);
  PooledConnectionPtr first = startExchange(callbacks_);
  PooledConnectionPtr second = startExchange(callbacks_);
  receive(*first, kOk);
  receive(*second, kOk);
  pool().release(std::move(first));
  ASSERT_EQ(3u, dispatcher_.timers().size());  // two connect timers, then the idle timer
  event::MockTimer& idle_timer = *dispatcher_.timers().back();
  EXPECT_TRUE(idle_timer.enabled_);
  EXPECT_EQ(std::chrono::milliseconds(60000), idle_timer.duration_);

  dispatcher_.time_ += std::chrono::seconds(20);
  pool().release(std::move(second));
  dispatcher_.time_ += std::chrono::seconds(40);
  idle_timer.invokeCallback();
  EXPECT_EQ(1u, pool().idleCount());
  EXPECT_EQ("idle_timeout", upstreams_[0]->close_reason_);
  EXPECT_EQ(network::ConnectionState::kOpen, upstreams_[1]->state_);
  // Re-armed for the one left, 20s younger.
  EXPECT_TRUE(idle_timer.enabled_);
  EXPECT_EQ(std::chrono::milliseconds(20000), idle_timer.duration_);

  dispatcher_.time_ += std::chrono::seconds(20);
  idle_timer.invokeCallback();
  EXPECT_EQ(0u, pool().idleCount());
  EXPECT_FALSE(idle_timer.enabled_);
}

TEST_F(ConnectionPoolTest, BeyondMaxIdleTheOldestIsClosed) {
  settings_.max_idle = 1;
  PooledConnectionPtr first = startExchange(callbacks_);
  PooledConnectionPtr second = startExchange(callbacks_);
  receive(*first, kOk);
  receive(*second, kOk);
  pool().release(std::move(first));
  pool().release(std::move(second));
  EXPECT_EQ(1u, pool().idleCount());
  EXPECT_EQ("pool_full", upstreams_[0]->close_reason_);
  EXPECT_EQ(network::ConnectionState::kOpen, upstreams_[1]->state_);
}

TEST_F(ConnectionPoolTest, ConnectFailuresAreClassified) {
  struct Case {
    int error;
    UpstreamFailure expected;
  };
  for (const Case& c : {Case{ECONNREFUSED, UpstreamFailure::kConnectRefused},
                        Case{ETIMEDOUT, UpstreamFailure::kConnectTimeout},
                        Case{EHOSTUNREACH, UpstreamFailure::kConnectError},
                        Case{EMFILE, UpstreamFailure::kLocalResourceExhausted},
                        Case{ENFILE, UpstreamFailure::kLocalResourceExhausted},
                        Case{ENOBUFS, UpstreamFailure::kLocalResourceExhausted},
                        Case{ENOMEM, UpstreamFailure::kLocalResourceExhausted}}) {
    NiceMock<MockPooledConnectionCallbacks> callbacks;
    PooledConnectionPtr connection = pool().acquire();
    connection->attach(callbacks, 1024 * 1024);
    connection->connect(std::chrono::milliseconds(250));
    auto& upstream = mock(*connection);
    upstream.failure_errno_ = c.error;
    upstream.failure_reason_ = "failed";
    upstream.state_ = network::ConnectionState::kClosed;
    upstream.raiseEvent(network::ConnectionEvent::kConnectFailed);
    ASSERT_EQ(1u, callbacks.failures_.size());
    EXPECT_EQ(c.expected, callbacks.failures_[0]);
    EXPECT_EQ("failed", callbacks.reason_);
    EXPECT_FALSE(dispatcher_.timers().back()->enabled_);
    pool().release(std::move(connection));
  }
  EXPECT_EQ(0u, pool().idleCount());
}

TEST_F(ConnectionPoolTest, TlsHandshakeFailureIsATlsError) {
  PooledConnectionPtr connection = pool().acquire();
  connection->attach(callbacks_, 1024 * 1024);
  connection->connect(std::chrono::milliseconds(250));
  auto& upstream = mock(*connection);
  upstream.transport_failure_ = true;
  upstream.failure_reason_ = "certificate verify failed: hostname mismatch";
  upstream.state_ = network::ConnectionState::kClosed;
  upstream.raiseEvent(network::ConnectionEvent::kConnectFailed);
  ASSERT_EQ(1u, callbacks_.failures_.size());
  EXPECT_EQ(UpstreamFailure::kTlsError, callbacks_.failures_[0]);
  EXPECT_EQ("certificate verify failed: hostname mismatch", callbacks_.reason_);
  pool().release(std::move(connection));
}

TEST_F(ConnectionPoolTest, TlsConnectionsArePooledApartByAddressSettingsAndHost) {
  ConnectionPools pools(dispatcher_);
  auto tls = std::make_shared<NiceMock<network::MockTransportSocketFactory>>();
  auto other_settings = std::make_shared<NiceMock<network::MockTransportSocketFactory>>();
  other_settings->settings_key_ = "other";
  ConnectionPool& plain = pools.get(loopback(8443));
  ConnectionPool& secure = pools.get(loopback(8443), tls, "api.test");
  EXPECT_NE(&plain, &secure);
  EXPECT_EQ(&secure, &pools.get(loopback(8443), tls, "api.test"));
  EXPECT_NE(&secure, &pools.get(loopback(8443), tls, "other.test"));
  EXPECT_NE(&secure, &pools.get(loopback(8443), other_settings, "api.test"));
  EXPECT_NE(&secure, &pools.get(loopback(9443), tls, "api.test"));
  EXPECT_EQ(&plain, &pools.get(loopback(8443)));
  EXPECT_EQ(5u, pools.size());

  // TLS connections get a transport socket for the pool's host; plain ones none.
  PooledConnectionPtr tls_connection = secure.acquire();
  ASSERT_EQ(1u, upstreams_.size());
  EXPECT_NE(nullptr, upstreams_[0]->transport_socket_);
  EXPECT_EQ(std::vector<std::string>{"api.test"}, tls->hosts_);
  PooledConnectionPtr plain_connection = plain.acquire();
  ASSERT_EQ(2u, upstreams_.size());
  EXPECT_EQ(nullptr, upstreams_[1]->transport_socket_);
  secure.release(std::move(tls_connection));
  plain.release(std::move(plain_connection));
}

TEST_F(ConnectionPoolTest, TlsConnectionIsReusedForTheNextExchange) {
  ConnectionPools pools(dispatcher_);
  auto tls = std::make_shared<NiceMock<network::MockTransportSocketFactory>>();
  ConnectionPool& secure = pools.get(loopback(8443), tls, "api.test");
  for (int i = 0; i < 3; ++i) {
    NiceMock<MockPooledConnectionCallbacks> callbacks;
    PooledConnectionPtr connection = secure.acquire();
    connection->attach(callbacks, 1024 * 1024);
    RequestHeaderMap request;
    request.setMethod("GET");
    request.setPath("/");
    request.add("host", "api.test");
    connection->encodeHeaders(request, true);
    if (!connection->connected()) {
      connection->connect(std::chrono::milliseconds(250));
      mock(*connection).raiseEvent(network::ConnectionEvent::kConnected);
    }
    receive(*connection, kOk);
    ASSERT_TRUE(callbacks.complete_);
    secure.release(std::move(connection));
  }
  EXPECT_EQ(1u, upstreams_.size());
  EXPECT_EQ(1u, tls->hosts_.size());
  EXPECT_EQ(1u, secure.idleCount());
}

TEST_F(ConnectionPoolTest, EqualTlsSettingsFromAReloadKeepThePoolAndUseTheNewContext) {
  ConnectionPools pools(dispatcher_);
  auto before = std::make_shared<NiceMock<network::MockTransportSocketFactory>>();
  auto after = std::make_shared<NiceMock<network::MockTransportSocketFactory>>();
  ConnectionPool& pool = pools.get(loopback(8443), before, "api.test");
  EXPECT_EQ(&pool, &pools.get(loopback(8443), after, "api.test"));
  EXPECT_EQ(after, pool.tls());
  PooledConnectionPtr connection = pool.acquire();
  EXPECT_TRUE(before->hosts_.empty());
  EXPECT_EQ(std::vector<std::string>{"api.test"}, after->hosts_);
  pool.release(std::move(connection));
}

TEST_F(ConnectionPoolTest, ConnectTimeoutClosesAndFails) {
  PooledConnectionPtr connection = pool().acquire();
  connection->attach(callbacks_, 1024 * 1024);
  connection->connect(std::chrono::milliseconds(250));
  event::MockTimer& timer = *dispatcher_.timers().back();
  EXPECT_EQ(std::chrono::milliseconds(250), timer.duration_);
  timer.invokeCallback();
  ASSERT_EQ(1u, callbacks_.failures_.size());
  EXPECT_EQ(UpstreamFailure::kConnectTimeout, callbacks_.failures_[0]);
  EXPECT_EQ(network::ConnectionState::kClosed, upstreams_[0]->state_);
  EXPECT_EQ("connect_timeout", upstreams_[0]->close_reason_);
  pool().release(std::move(connection));
}

TEST_F(ConnectionPoolTest, InvalidResponseIsAProtocolError) {
  PooledConnectionPtr connection = startExchange(callbacks_);
  receive(*connection, "HTTP/1.1 200 OK\r\nbroken header line\r\n\r\n");
  ASSERT_EQ(1u, callbacks_.failures_.size());
  EXPECT_EQ(UpstreamFailure::kProtocolError, callbacks_.failures_[0]);
  EXPECT_EQ(network::ConnectionState::kClosed, upstreams_[0]->state_);
  pool().release(std::move(connection));
  EXPECT_EQ(0u, pool().idleCount());
}

TEST_F(ConnectionPoolTest, CloseBeforeResponseEndIsAReset) {
  PooledConnectionPtr connection = startExchange(callbacks_);
  receive(*connection, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf");
  remoteClose(*connection, "connection_reset");
  ASSERT_EQ(1u, callbacks_.failures_.size());
  EXPECT_EQ(UpstreamFailure::kReset, callbacks_.failures_[0]);
  EXPECT_EQ("connection_reset", callbacks_.reason_);
  pool().release(std::move(connection));
}

TEST_F(ConnectionPoolTest, ResponseDelimitedByCloseCompletes) {
  PooledConnectionPtr connection = startExchange(callbacks_);
  receive(*connection, "HTTP/1.1 200 OK\r\n\r\nuntil the end");
  remoteClose(*connection);
  EXPECT_TRUE(callbacks_.failures_.empty());
  EXPECT_TRUE(callbacks_.complete_);
  EXPECT_EQ("until the end", callbacks_.body_);
  EXPECT_FALSE(connection->reusable());
  pool().release(std::move(connection));
  EXPECT_EQ(0u, pool().idleCount());
}

// Read until close, but the close was a reset or a TLS EOF without close_notify: the
// response may have been cut anywhere, so it is not complete.
TEST_F(ConnectionPoolTest, ResponseDelimitedByAnUncleanCloseIsAReset) {
  for (const char* reason : {"unexpected_eof", "connection_reset"}) {
    NiceMock<MockPooledConnectionCallbacks> callbacks;
    PooledConnectionPtr connection = startExchange(callbacks);
    receive(*connection, "HTTP/1.1 200 OK\r\n\r\ncut he");
    remoteClose(*connection, reason);
    EXPECT_FALSE(callbacks.complete_) << reason;
    ASSERT_EQ(1u, callbacks.failures_.size()) << reason;
    EXPECT_EQ(UpstreamFailure::kReset, callbacks.failures_[0]);
    EXPECT_EQ(reason, callbacks.reason_);
    pool().release(std::move(connection));
  }
  EXPECT_EQ(0u, pool().idleCount());
}

TEST_F(ConnectionPoolTest, WriteWatermarksReachTheUser) {
  PooledConnectionPtr connection = startExchange(callbacks_);
  EXPECT_CALL(callbacks_, onUpstreamAboveWriteBufferHighWatermark());
  upstreams_[0]->raiseAboveHighWatermark();
  EXPECT_CALL(callbacks_, onUpstreamBelowWriteBufferLowWatermark());
  upstreams_[0]->raiseBelowLowWatermark();
  pool().release(std::move(connection));
}

TEST_F(ConnectionPoolTest, ReadDisableIsUndoneWhenPooled) {
  PooledConnectionPtr connection = startExchange(callbacks_);
  connection->readDisable(true);
  connection->readDisable(true);  // held once
  EXPECT_EQ(1, upstreams_[0]->read_disable_count_);
  receive(*connection, kOk);
  pool().release(std::move(connection));
  EXPECT_EQ(0, upstreams_[0]->read_disable_count_);
}

TEST_F(ConnectionPoolTest, DestroyingThePoolClosesIdleConnections) {
  PooledConnectionPtr connection = startExchange(callbacks_);
  receive(*connection, kOk);
  pool().release(std::move(connection));
  pool_.reset();
  // Destroyed at once, with their mocks: nothing waits for a loop that has stopped.
  EXPECT_TRUE(dispatcher_.to_delete_.empty());
}

TEST_F(ConnectionPoolTest, PoolsAreOnePerAddress) {
  ConnectionPools pools(dispatcher_, settings_);
  ConnectionPool& a = pools.get(loopback(8080));
  EXPECT_EQ(&a, &pools.get(loopback(8080)));
  EXPECT_NE(&a, &pools.get(loopback(8081)));
  EXPECT_EQ(2u, pools.size());
  EXPECT_EQ(loopback(8081), pools.get(loopback(8081)).address());
}

TEST_F(ConnectionPoolTest, WorkerRegistryIsPerDispatcherAndReleasable) {
  NiceMock<event::MockDispatcher> other;
  ConnectionPools& mine = ConnectionPools::forDispatcher(dispatcher_);
  EXPECT_EQ(&mine, &ConnectionPools::forDispatcher(dispatcher_));
  EXPECT_NE(&mine, &ConnectionPools::forDispatcher(other));

  ConnectionPool& pool = mine.get(loopback(8080));
  PooledConnectionPtr connection = pool.acquire();
  connection->attach(callbacks_, 1024 * 1024);
  RequestHeaderMap request;
  request.setMethod("GET");
  request.setPath("/");
  connection->encodeHeaders(request, true);
  connection->connect(std::chrono::milliseconds(250));
  upstreams_[0]->raiseEvent(network::ConnectionEvent::kConnected);
  receive(*connection, kOk);
  pool.release(std::move(connection));
  EXPECT_EQ(1u, pool.idleCount());

  ConnectionPools::releaseDispatcher(dispatcher_);
  ConnectionPools::releaseDispatcher(other);
  // A fresh registry now: the released pools are gone.
  EXPECT_EQ(0u, ConnectionPools::forDispatcher(dispatcher_).size());
}

}  // namespace
}  // namespace proxy::http
