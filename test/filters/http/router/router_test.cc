#include "filters/http/router/router.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "common/buffer/buffer_impl.h"
#include "common/router/route_impl.h"
#include "common/upstream/cluster_impl.h"
#include "test/mocks/event/mocks.h"
#include "test/mocks/http/mocks.h"
#include "test/mocks/log/mocks.h"
#include "test/mocks/network/mocks.h"
#include "test/mocks/upstream/mocks.h"
#include "test/support/addresses.h"

using testing::_;
using testing::NiceMock;
using testing::Return;
using testing::ReturnRef;

namespace proxy::filters::router {
namespace {

network::Address ipv4(const char* ip, uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  inet_pton(AF_INET, ip, &sin.sin_addr);
  return network::Address(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
}

upstream::Endpoint endpoint(std::string host, uint16_t port, bool resolved = true) {
  upstream::Endpoint out;
  out.host = std::move(host);
  out.port = port;
  if (resolved) {
    out.address = ipv4("127.0.0.1", port);
  }
  return out;
}

using Headers = std::initializer_list<std::pair<std::string_view, std::string_view>>;

constexpr std::chrono::milliseconds kConnectTimeout{250};
constexpr std::chrono::milliseconds kResponseTimeout{60000};
constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

class RouterTest : public testing::Test {
 protected:
  // One request: its filter, the mock callbacks it talks to, and its headers.
  struct Stream {
    NiceMock<http::MockStreamDecoderFilterCallbacks> callbacks;
    std::shared_ptr<RouterFilter> filter;
    http::RequestHeaderMap headers;
    http::HeaderMap trailers;
  };

  RouterTest() {
    downstream_.remote_address_ = ipv4("10.0.0.7", 5555);
    ON_CALL(dispatcher_, createClientConnection_(_))
        .WillByDefault([this](const network::Address& address) {
          auto* upstream = new NiceMock<network::MockClientConnection>();
          upstream->remote_address_ = address;
          // Connecting completes when the test says so.
          ON_CALL(*upstream, connect()).WillByDefault(Return());
          // Both sides live on the worker's one dispatcher, as in the proxy.
          ON_CALL(*upstream, dispatcher()).WillByDefault(ReturnRef(dispatcher_));
          upstreams_.push_back(upstream);
          return upstream;
        });
    pools_ = std::make_unique<http::ConnectionPools>(dispatcher_);
    config_->response_timeout = kResponseTimeout;
    config_->listener_name = "web";
    config_->logger = &logger_;
    config_->pools = [this](event::Dispatcher& dispatcher) -> http::ConnectionPools& {
      EXPECT_EQ(&dispatcher_, &dispatcher);
      return *pools_;
    };
    config_->tunnels = [this](event::Dispatcher& dispatcher) -> http::TunnelRegistry& {
      EXPECT_EQ(&dispatcher_, &dispatcher);
      return tunnels_;
    };
    useCluster("backend", {endpoint("backend", 8080)});
  }

  void useCluster(const std::string& name, std::vector<upstream::Endpoint> endpoints,
                  bool preserve_host = false) {
    cluster_ = std::make_shared<upstream::ClusterImpl>(name, std::move(endpoints), kConnectTimeout);
    route_ = std::make_shared<proxy::router::RouteImpl>("route", "path_prefix_router", cluster_,
                                                        preserve_host);
  }
  // A mock cluster of one mock host on 127.0.0.1:8080, which hears the outcomes.
  upstream::MockHost& useMockHost() {
    auto cluster = std::make_shared<NiceMock<upstream::MockCluster>>("mocked");
    cluster->connect_timeout_ = kConnectTimeout;
    auto host = std::make_shared<NiceMock<upstream::MockHost>>(endpoint("backend", 8080));
    cluster->hosts_.push_back(host);
    route_ =
        std::make_shared<proxy::router::RouteImpl>("route", "path_prefix_router", cluster, false);
    return *host;
  }

  void useTlsCluster(const std::string& name, std::vector<upstream::Endpoint> endpoints,
                     network::TransportSocketFactoryConstSharedPtr tls) {
    cluster_ = std::make_shared<upstream::ClusterImpl>(name, std::move(endpoints), kConnectTimeout,
                                                       std::move(tls));
    route_ =
        std::make_shared<proxy::router::RouteImpl>("route", "path_prefix_router", cluster_, false);
  }

  // A new stream with a routed request; decodeHeaders() has run.
  Stream& request(std::string_view method, std::string_view path, Headers headers,
                  bool end_stream = true) {
    streams_.push_back(std::make_unique<Stream>());
    Stream& stream = *streams_.back();
    ON_CALL(stream.callbacks, dispatcher()).WillByDefault(ReturnRef(dispatcher_));
    stream.callbacks.connection_ = &downstream_;
    stream.callbacks.route_ = route_;
    stream.headers.setMethod(method);
    stream.headers.setPath(path);
    for (const auto& [name, value] : headers) {
      stream.headers.add(name, value);
    }
    stream.filter = std::make_shared<RouterFilter>(config_);
    stream.filter->setDecoderFilterCallbacks(stream.callbacks);
    EXPECT_EQ(http::FilterHeadersStatus::kStopIteration,
              stream.filter->decodeHeaders(stream.headers, end_stream));
    return stream;
  }

  Stream& get(std::string_view path = "/") {
    return request("GET", path, {{"host", "client.example"}});
  }

  void body(Stream& stream, std::string_view bytes, bool end_stream) {
    buffer::OwnedBuffer data;
    data.add(bytes);
    EXPECT_EQ(http::FilterDataStatus::kStopIteration, stream.filter->decodeData(data, end_stream));
    EXPECT_EQ(0u, data.length());
  }

  network::MockClientConnection& upstream(size_t index) { return *upstreams_.at(index); }
  void connect(size_t index) { upstream(index).raiseEvent(network::ConnectionEvent::kConnected); }
  void respond(size_t index, std::string_view bytes) {
    buffer::OwnedBuffer data;
    data.add(bytes);
    upstream(index).read_filters_.at(0)->onData(data, false);
  }
  void remoteClose(size_t index, const char* reason = "remote_close") {
    upstream(index).state_ = network::ConnectionState::kClosed;
    upstream(index).close_reason_ = reason;
    upstream(index).raiseEvent(network::ConnectionEvent::kRemoteClose);
  }
  void failConnect(size_t index, int error) {
    upstream(index).failure_errno_ = error;
    upstream(index).failure_reason_ = error != 0 ? std::strerror(error) : "handshake failed";
    upstream(index).state_ = network::ConnectionState::kClosed;
    upstream(index).raiseEvent(network::ConnectionEvent::kConnectFailed);
  }
  // The live timer last armed for `duration`.
  event::MockTimer* timer(std::chrono::milliseconds duration) {
    event::MockTimer* found = nullptr;
    for (event::MockTimer* timer : dispatcher_.timers()) {
      if (timer->duration_ == duration) {
        found = timer;
      }
    }
    return found;
  }
  // A stream that got its whole response on upstream `index` and ended; the connection is
  // back in the pool.
  void completeExchange(Stream& stream, size_t index) {
    respond(index, kOk);
    EXPECT_EQ("ok", stream.callbacks.response_body_);
    stream.filter->onDestroy();
  }
  http::ConnectionPool& pool() { return pools_->get(ipv4("127.0.0.1", 8080)); }

  NiceMock<log::MockLogger> logger_;
  NiceMock<event::MockDispatcher> dispatcher_;
  NiceMock<network::MockConnection> downstream_;
  std::shared_ptr<upstream::ClusterImpl> cluster_;
  http::RouteConstSharedPtr route_;
  std::unique_ptr<http::ConnectionPools> pools_;
  http::TunnelRegistry tunnels_;
  std::shared_ptr<RouterConfig> config_ = std::make_shared<RouterConfig>();
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<network::MockClientConnection*> upstreams_;  // owned by the pool's connections
};

TEST_F(RouterTest, NoRouteIs404) {
  route_ = nullptr;
  Stream& stream = get();
  EXPECT_EQ(404, stream.callbacks.local_reply_code_);
  EXPECT_EQ("no route\n", stream.callbacks.local_reply_body_);
  EXPECT_EQ(http::RequestFailure::kNoRoute, stream.callbacks.stream_info_.failure);
  EXPECT_TRUE(upstreams_.empty());
  stream.filter->onDestroy();
}

TEST_F(RouterTest, NoResolvedEndpointIs503) {
  useCluster("unresolved", {endpoint("nowhere", 8080, false), endpoint("nowhere2", 8081, false)});
  Stream& stream = get();
  EXPECT_EQ(503, stream.callbacks.local_reply_code_);
  EXPECT_EQ("no healthy upstream: name does not resolve\n", stream.callbacks.local_reply_body_);
  EXPECT_EQ(http::RequestFailure::kNoHealthyEndpoint, stream.callbacks.stream_info_.failure);
  EXPECT_EQ("unresolved", stream.callbacks.stream_info_.cluster_name);
  EXPECT_TRUE(upstreams_.empty());
  stream.filter->onDestroy();
}

TEST_F(RouterTest, HttpsEndpointWithoutATlsContextIsNeverSentInClear) {
  upstream::Endpoint secure = endpoint("api.example", 443);
  secure.tls = true;
  useCluster("secure", {secure});
  Stream& stream = get();
  EXPECT_EQ(502, stream.callbacks.local_reply_code_);
  EXPECT_EQ("upstream TLS is not configured\n", stream.callbacks.local_reply_body_);
  EXPECT_EQ(http::RequestFailure::kUpstreamTlsError, stream.callbacks.stream_info_.failure);
  EXPECT_TRUE(upstreams_.empty());
  stream.filter->onDestroy();
}

TEST_F(RouterTest, HttpsEndpointIsReachedThroughTheClustersTlsContext) {
  auto tls = std::make_shared<NiceMock<network::MockTransportSocketFactory>>();
  upstream::Endpoint secure = endpoint("api.example", 443);
  secure.tls = true;
  useTlsCluster("secure", {secure}, tls);
  Stream& first = get();
  ASSERT_EQ(1u, upstreams_.size());
  EXPECT_NE(nullptr, upstream(0).transport_socket_);
  EXPECT_EQ(std::vector<std::string>{"api.example"}, tls->hosts_);
  // The target's authority (443 is https' default); the client spoke plain HTTP.
  EXPECT_EQ("api.example", *first.headers.get("host"));
  EXPECT_EQ("http", *first.headers.get("x-forwarded-proto"));
  connect(0);
  completeExchange(first, 0);
  // Keep-alive over TLS: the next request takes the same connection.
  Stream& second = get();
  EXPECT_EQ(1u, upstreams_.size());
  completeExchange(second, 0);
  EXPECT_EQ(1u, pools_->get(ipv4("127.0.0.1", 443), tls, "api.example").idleCount());
  // A plain endpoint at the same address never gets that connection.
  EXPECT_EQ(0u, pools_->get(ipv4("127.0.0.1", 443)).idleCount());
}

// A cluster's tls.sni names the server for every endpoint: the certificate is checked for
// it, so the request names it too, unless the route keeps the client's Host.
TEST_F(RouterTest, ClusterSniIsTheUpstreamHost) {
  auto tls = std::make_shared<NiceMock<network::MockTransportSocketFactory>>();
  tls->server_name_ = "api.internal";
  upstream::Endpoint by_ip = endpoint("10.0.0.7", 8443);
  by_ip.tls = true;
  useTlsCluster("secure", {by_ip}, tls);
  Stream& first = get();
  EXPECT_EQ("api.internal:8443", *first.headers.get("host"));
  first.filter->onDestroy();

  route_ = std::make_shared<proxy::router::RouteImpl>("route", "path_prefix_router", cluster_,
                                                      /*preserve_host=*/true);
  Stream& kept = request("GET", "/", {{"host", "client.example"}});
  EXPECT_EQ("client.example", *kept.headers.get("host"));
  kept.filter->onDestroy();
}

TEST_F(RouterTest, TlsHandshakeFailureIs502AndNotRetried) {
  auto tls = std::make_shared<NiceMock<network::MockTransportSocketFactory>>();
  upstream::Endpoint secure = endpoint("api.example", 443);
  secure.tls = true;
  useTlsCluster("secure", {secure}, tls);
  Stream& stream = get();
  upstream(0).transport_failure_ = true;
  failConnect(0, 0);
  EXPECT_EQ(502, stream.callbacks.local_reply_code_);
  EXPECT_EQ("upstream TLS handshake failed\n", stream.callbacks.local_reply_body_);
  EXPECT_EQ(http::RequestFailure::kUpstreamTlsError, stream.callbacks.stream_info_.failure);
  EXPECT_EQ(std::string("upstream_tls_error"),
            http::requestFailureName(stream.callbacks.stream_info_.failure));
  EXPECT_EQ(1u, upstreams_.size());
  stream.filter->onDestroy();
}

TEST_F(RouterTest, TlsHandshakeFailureIsAConnectFailureForPassiveHealth) {
  auto cluster = std::make_shared<NiceMock<upstream::MockCluster>>("mocked");
  cluster->connect_timeout_ = kConnectTimeout;
  cluster->tls_context_ = std::make_shared<NiceMock<network::MockTransportSocketFactory>>();
  upstream::Endpoint secure = endpoint("api.example", 443);
  secure.tls = true;
  auto host = std::make_shared<NiceMock<upstream::MockHost>>(secure);
  cluster->hosts_.push_back(host);
  route_ =
      std::make_shared<proxy::router::RouteImpl>("route", "path_prefix_router", cluster, false);
  Stream& stream = get();
  ASSERT_EQ(1u, upstreams_.size());
  EXPECT_NE(nullptr, upstream(0).transport_socket_);
  EXPECT_EQ(1u, host->active_requests_);
  upstream(0).transport_failure_ = true;
  failConnect(0, 0);
  EXPECT_EQ(http::RequestFailure::kUpstreamTlsError, stream.callbacks.stream_info_.failure);
  EXPECT_EQ(1u, host->connect_failures_);
  EXPECT_EQ(0u, host->connect_successes_);
  EXPECT_EQ(0u, host->active_requests_);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, HttpsPoolUsesTheHostsCurrentAddress) {
  auto tls = std::make_shared<NiceMock<network::MockTransportSocketFactory>>();
  upstream::Endpoint secure = endpoint("api.example", 443);
  secure.tls = true;
  useTlsCluster("secure", {secure}, tls);
  // A DNS refresh moved the host: the next request connects to the new address.
  cluster_->hostImpls()[0]->setAddresses({ipv4("127.0.0.2", 443)});
  Stream& stream = get();
  ASSERT_EQ(1u, upstreams_.size());
  EXPECT_EQ(ipv4("127.0.0.2", 443), upstream(0).remote_address_);
  EXPECT_EQ(ipv4("127.0.0.2", 443), stream.callbacks.stream_info_.upstream_address);
  connect(0);
  completeExchange(stream, 0);
  EXPECT_EQ(1u, pools_->get(ipv4("127.0.0.2", 443), tls, "api.example").idleCount());
}

TEST_F(RouterTest, RoundRobinSkipsUnresolvedEndpoints) {
  useCluster("round_robin_test",
             {endpoint("a", 8081), endpoint("b", 8082, false), endpoint("c", 8083)});
  std::vector<uint16_t> ports;
  for (int i = 0; i < 4; ++i) {
    Stream& stream = get();
    ports.push_back(upstreams_.back()->remote_address_.port());
    EXPECT_EQ(upstreams_.back()->remote_address_, stream.callbacks.stream_info_.upstream_address);
    stream.filter->onDestroy();
  }
  // The rotation is per worker (here, the test's thread) and starts at the first host.
  EXPECT_EQ((std::vector<uint16_t>{8081, 8083, 8081, 8083}), ports);
}

TEST_F(RouterTest, ConnectFailureAndRequestEndReachTheHost) {
  upstream::MockHost& host = useMockHost();
  Stream& stream = get();
  EXPECT_EQ(1u, host.active_requests_);
  failConnect(0, ECONNREFUSED);
  EXPECT_EQ(502, stream.callbacks.local_reply_code_);
  EXPECT_EQ(1u, host.connect_failures_);
  EXPECT_EQ(0u, host.connect_successes_);
  EXPECT_EQ(0u, host.active_requests_);
  stream.filter->onDestroy();
  EXPECT_EQ(0u, host.active_requests_);
}

network::Address ipv6Loopback(uint16_t port) { return test::ipv6("::1", port); }

TEST_F(RouterTest, RefusedAddressWalksToTheNameNextAddressWithTheWholeRequest) {
  upstream::MockHost& host = useMockHost();
  host.address_ = ipv6Loopback(8080);
  host.addresses_ = {ipv6Loopback(8080), ipv4("127.0.0.1", 8080)};
  Stream& stream = request("POST", "/form", {{"host", "h"}, {"content-length", "3"}}, false);
  body(stream, "a=1", true);
  EXPECT_EQ(ipv6Loopback(8080), upstream(0).remote_address_);
  failConnect(0, ECONNREFUSED);
  ASSERT_EQ(2u, upstreams_.size());
  EXPECT_EQ(ipv4("127.0.0.1", 8080), upstream(1).remote_address_);
  EXPECT_EQ(ipv4("127.0.0.1", 8080), stream.callbacks.stream_info_.upstream_address);
  EXPECT_EQ(0u, host.connect_failures_) << "no health penalty while an address is left";
  EXPECT_EQ(0, stream.callbacks.local_reply_code_);
  connect(1);
  EXPECT_THAT(upstream(1).written_, testing::StartsWith("POST /form HTTP/1.1\r\n"));
  EXPECT_THAT(upstream(1).written_, testing::EndsWith("\r\n\r\na=1"));
  respond(1, kOk);
  EXPECT_EQ("ok", stream.callbacks.response_body_);
  EXPECT_EQ(1u, host.connect_successes_);
  EXPECT_THAT(host.connected_addresses_, testing::ElementsAre(ipv4("127.0.0.1", 8080)));
  stream.filter->onDestroy();
  // The connection went back to the pool of the address that answered.
  EXPECT_EQ(1u, pools_->get(ipv4("127.0.0.1", 8080)).idleCount());
}

TEST_F(RouterTest, EveryAddressRefusedIsOneHostFailureAnd502) {
  upstream::MockHost& host = useMockHost();
  host.addresses_ = {ipv4("127.0.0.1", 8080), ipv6Loopback(8080)};
  Stream& stream = get();
  failConnect(0, ECONNREFUSED);
  ASSERT_EQ(2u, upstreams_.size());
  EXPECT_EQ(ipv6Loopback(8080), upstream(1).remote_address_);
  failConnect(1, EADDRNOTAVAIL);
  EXPECT_EQ(2u, upstreams_.size()) << "then nothing left to try";
  EXPECT_EQ(1u, host.connect_failures_);
  EXPECT_EQ(502, stream.callbacks.local_reply_code_);
  EXPECT_EQ(http::RequestFailure::kUpstreamConnectError, stream.callbacks.stream_info_.failure);
  EXPECT_TRUE(host.connected_addresses_.empty());
  stream.filter->onDestroy();
  EXPECT_EQ(0u, host.active_requests_);
}

TEST_F(RouterTest, ConnectTimeoutIsSharedBetweenTheAddresses) {
  upstream::MockHost& host = useMockHost();
  host.addresses_ = {ipv4("127.0.0.1", 8080), ipv6Loopback(8080), ipv4("127.0.0.2", 8080)};
  // 250 ms for three addresses: each gets what is left, since a share would be below
  // AddressWalk::kMinTryTime.
  Stream& stream = get();
  timer(kConnectTimeout)->invokeCallback();
  ASSERT_EQ(2u, upstreams_.size());
  EXPECT_EQ(ipv6Loopback(8080), upstream(1).remote_address_);
  EXPECT_EQ(0u, host.connect_failures_);
  EXPECT_EQ(0, stream.callbacks.local_reply_code_);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, ResetAfterConnectDoesNotWalkTheAddresses) {
  upstream::MockHost& host = useMockHost();
  host.addresses_ = {ipv4("127.0.0.1", 8080), ipv6Loopback(8080)};
  Stream& stream = get();
  connect(0);
  remoteClose(0, "connection_reset");
  EXPECT_EQ(1u, upstreams_.size());
  EXPECT_EQ(502, stream.callbacks.local_reply_code_);
  stream.filter->onDestroy();
}

// The proxy out of descriptors is not the upstream's fault: no passive-health penalty (else
// a healthy endpoint is ejected and every client gets 503 for ejection_time), its own
// cause, 503, and a log line saying why.
TEST_F(RouterTest, LocalResourceExhaustionIs503WithoutAHealthPenalty) {
  for (int error : {EMFILE, ENFILE, ENOBUFS, ENOMEM}) {
    logger_.lines_.clear();
    upstream::MockHost& host = useMockHost();
    Stream& stream = get();
    failConnect(upstreams_.size() - 1, error);
    EXPECT_EQ(503, stream.callbacks.local_reply_code_) << error;
    EXPECT_EQ(http::RequestFailure::kLocalResourceExhausted, stream.callbacks.stream_info_.failure);
    EXPECT_EQ(std::string("local_resource_exhausted"),
              http::requestFailureName(stream.callbacks.stream_info_.failure));
    EXPECT_EQ(0u, host.connect_failures_) << error;
    EXPECT_EQ(0u, host.active_requests_);
    ASSERT_EQ(1u, logger_.lines_.size());
    EXPECT_THAT(logger_.lines_[0],
                testing::StartsWith("error local_resource_exhausted: listener web cluster mocked "
                                    "endpoint 127.0.0.1:8080: " +
                                    std::string(std::strerror(error))));
    stream.filter->onDestroy();
  }
}

// A connect or handshake failure says why in the log, not only its cause word.
TEST_F(RouterTest, ConnectFailuresLogTheirReason) {
  Stream& refused = get();
  failConnect(0, ECONNREFUSED);
  ASSERT_EQ(1u, logger_.lines_.size());
  EXPECT_THAT(logger_.lines_[0],
              testing::MatchesRegex("warn upstream_connect_refused: listener web "
                                    "cluster [^ ]+ endpoint [^ ]+: Connection "
                                    "refused"));
  refused.filter->onDestroy();
  Stream& unreachable = get();
  failConnect(1, EHOSTUNREACH);
  ASSERT_EQ(2u, logger_.lines_.size());
  EXPECT_THAT(logger_.lines_[1], testing::HasSubstr(": No route to host"));
  unreachable.filter->onDestroy();
}

TEST_F(RouterTest, ConnectTimeoutCountsAsAFailure) {
  upstream::MockHost& host = useMockHost();
  Stream& stream = get();
  timer(kConnectTimeout)->invokeCallback();
  EXPECT_EQ(504, stream.callbacks.local_reply_code_);
  EXPECT_EQ(1u, host.connect_failures_);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, ResponseReportsSuccessAndEndsTheRequest) {
  upstream::MockHost& host = useMockHost();
  Stream& stream = get();
  connect(0);
  EXPECT_EQ(1u, host.active_requests_);
  respond(0, kOk);
  EXPECT_EQ(1u, host.connect_successes_);
  EXPECT_EQ(0u, host.connect_failures_);
  EXPECT_EQ(0u, host.active_requests_);
  stream.filter->onDestroy();
  EXPECT_EQ(0u, host.active_requests_);
}

TEST_F(RouterTest, ResetAfterConnectIsNotAConnectFailure) {
  upstream::MockHost& host = useMockHost();
  Stream& stream = get();
  connect(0);
  remoteClose(0, "connection_reset");
  EXPECT_EQ(502, stream.callbacks.local_reply_code_);
  EXPECT_EQ(0u, host.connect_failures_);
  EXPECT_EQ(0u, host.active_requests_);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, DestroyMidRequestEndsTheHostsRequest) {
  upstream::MockHost& host = useMockHost();
  Stream& stream = get();
  connect(0);
  stream.filter->onDestroy();
  EXPECT_EQ(0u, host.active_requests_);
}

TEST_F(RouterTest, EjectedHostIs503WithoutAConnection) {
  upstream::MockHost& host = useMockHost();
  host.healthy_ = false;
  Stream& stream = get();
  EXPECT_EQ(503, stream.callbacks.local_reply_code_);
  EXPECT_EQ("no healthy upstream\n", stream.callbacks.local_reply_body_);
  EXPECT_EQ(http::RequestFailure::kNoHealthyEndpoint, stream.callbacks.stream_info_.failure);
  EXPECT_TRUE(upstreams_.empty());
  EXPECT_EQ(0u, host.active_requests_);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, FiveRefusedConnectsEjectTheEndpoint) {
  useCluster("ejects_after_five", {endpoint("a", 8081), endpoint("b", 8082)});
  // Requests alternate; every one to a is refused, every one to b answered (b's connection
  // is pooled and reused).
  std::vector<uint16_t> ports;
  size_t b_connection = SIZE_MAX;
  for (int i = 0; i < 14; ++i) {
    const size_t before = upstreams_.size();
    Stream& stream = get();
    if (stream.callbacks.local_reply_code_ == 503) {
      ADD_FAILURE() << "503 for request " << i;
      return;
    }
    const bool fresh = upstreams_.size() > before;
    const size_t index = fresh ? before : b_connection;
    const uint16_t port = upstream(index).remote_address_.port();
    ports.push_back(port);
    if (port == 8081) {
      failConnect(index, ECONNREFUSED);
      EXPECT_EQ(502, stream.callbacks.local_reply_code_);
      stream.filter->onDestroy();
    } else {
      if (fresh) {
        b_connection = index;
        connect(index);
      }
      completeExchange(stream, index);
    }
  }
  // a's fifth failure ejected it: the rest went to b (reusing its pooled connection).
  EXPECT_EQ((std::vector<uint16_t>{8081, 8082, 8081, 8082, 8081, 8082, 8081, 8082, 8081, 8082, 8082,
                                   8082, 8082, 8082}),
            ports);
  EXPECT_FALSE(cluster_->hosts()[0]->healthy());
  EXPECT_TRUE(cluster_->hosts()[1]->healthy());
}

TEST_F(RouterTest, RequestHeadersAreRewrittenForTheUpstream) {
  Stream& stream = request("GET", "/api?x=1",
                           {{"Host", "client.example"},
                            {"User-Agent", "t"},
                            {"Connection", "keep-alive, X-Secret"},
                            {"Keep-Alive", "timeout=5"},
                            {"X-Secret", "hop"},
                            {"TE", "trailers"},
                            {"Proxy-Connection", "keep-alive"},
                            {"Upgrade", "websocket"},
                            {"X-Forwarded-For", "1.2.3.4"},
                            {"X-Forwarded-Proto", "https"},
                            {"Accept", "*/*"}});
  connect(0);
  EXPECT_EQ(
      "GET /api?x=1 HTTP/1.1\r\n"
      "Host: backend:8080\r\n"
      "User-Agent: t\r\n"
      "X-Forwarded-For: 1.2.3.4, 10.0.0.7\r\n"
      "X-Forwarded-Proto: http\r\n"
      "Accept: */*\r\n"
      "x-forwarded-host: client.example\r\n"
      "\r\n",
      upstream(0).written_);
  EXPECT_EQ("backend", stream.callbacks.stream_info_.cluster_name);
  EXPECT_EQ(ipv4("127.0.0.1", 8080), stream.callbacks.stream_info_.upstream_address);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, SeveralForwardedForLinesBecomeOneList) {
  Stream& stream = request(
      "GET", "/",
      {{"host", "h"}, {"x-forwarded-for", "1.1.1.1"}, {"x-forwarded-for", "2.2.2.2, 3.3.3.3"}});
  EXPECT_EQ(1u, stream.headers.count("x-forwarded-for"));
  EXPECT_EQ("1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.7", *stream.headers.get("x-forwarded-for"));
  stream.filter->onDestroy();
}

TEST_F(RouterTest, PreserveHostKeepsTheClientsHost) {
  useCluster("backend", {endpoint("backend", 8080)}, true);
  Stream& stream = get();
  EXPECT_EQ("client.example", *stream.headers.get("host"));
  EXPECT_EQ("client.example", *stream.headers.get("x-forwarded-host"));
  stream.filter->onDestroy();
}

TEST_F(RouterTest, HostOmitsTheDefaultPortAndBracketsIpv6) {
  useCluster("port80", {endpoint("backend", 80)});
  Stream& plain = get();
  EXPECT_EQ("backend", *plain.headers.get("host"));
  plain.filter->onDestroy();

  upstream::Endpoint v6 = endpoint("::1", 8080);
  useCluster("v6", {v6});
  Stream& bracketed = get();
  EXPECT_EQ("[::1]:8080", *bracketed.headers.get("host"));
  bracketed.filter->onDestroy();
}

TEST_F(RouterTest, RequestWithoutHostGetsTheEndpointsAuthority) {
  Stream& stream = request("GET", "/", {}, true);
  EXPECT_EQ("backend:8080", *stream.headers.get("host"));
  EXPECT_FALSE(stream.headers.get("x-forwarded-host").has_value());
  stream.filter->onDestroy();
}

TEST_F(RouterTest, RequestBodyAndTrailersStreamUpstream) {
  Stream& stream =
      request("POST", "/upload", {{"host", "h"}, {"transfer-encoding", "chunked"}}, false);
  body(stream, "hello", false);
  connect(0);
  body(stream, " world", false);
  stream.trailers.add("x-checksum", "abc");
  EXPECT_EQ(http::FilterTrailersStatus::kStopIteration,
            stream.filter->decodeTrailers(stream.trailers));
  EXPECT_EQ(
      "POST /upload HTTP/1.1\r\n"
      "host: backend:8080\r\n"
      "x-forwarded-host: h\r\n"
      "x-forwarded-proto: http\r\n"
      "x-forwarded-for: 10.0.0.7\r\n"
      "Transfer-Encoding: chunked\r\n"
      "\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: abc\r\n\r\n",
      upstream(0).written_);
  respond(0, kOk);
  EXPECT_EQ("ok", stream.callbacks.response_body_);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, ResponsePassesThroughWithoutHopByHopHeaders) {
  Stream& stream = get();
  connect(0);
  respond(0,
          "HTTP/1.1 201 Created\r\n"
          "Content-Length: 5\r\n"
          "Connection: keep-alive, X-Private\r\n"
          "Keep-Alive: timeout=5\r\n"
          "X-Private: p\r\n"
          "X-Upstream: yes\r\n"
          "\r\n");
  ASSERT_NE(nullptr, stream.callbacks.response_headers_);
  const http::ResponseHeaderMap& headers = *stream.callbacks.response_headers_;
  EXPECT_EQ(201, headers.status());
  EXPECT_EQ("yes", *headers.get("x-upstream"));
  EXPECT_EQ("5", *headers.get("content-length"));
  EXPECT_FALSE(headers.get("connection").has_value());
  EXPECT_FALSE(headers.get("keep-alive").has_value());
  EXPECT_FALSE(headers.get("x-private").has_value());
  EXPECT_FALSE(stream.callbacks.response_end_stream_);
  EXPECT_EQ(201, stream.callbacks.stream_info_.response_code);

  respond(0, "hel");
  respond(0, "lo");
  EXPECT_EQ("hello", stream.callbacks.response_body_);
  EXPECT_TRUE(stream.callbacks.response_end_stream_);
  EXPECT_EQ(http::RequestFailure::kNone, stream.callbacks.stream_info_.failure);
  EXPECT_EQ(0, stream.callbacks.local_replies_);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, ChunkedResponseTrailersAreForwarded) {
  Stream& stream = get();
  connect(0);
  respond(0,
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n"
          "3\r\nabc\r\n0\r\nx-sum: 1\r\n\r\n");
  EXPECT_FALSE(stream.callbacks.response_headers_->get("transfer-encoding").has_value());
  EXPECT_FALSE(stream.callbacks.response_headers_->get("trailer").has_value());
  EXPECT_EQ("abc", stream.callbacks.response_body_);
  ASSERT_NE(nullptr, stream.callbacks.response_trailers_);
  EXPECT_EQ("1", *stream.callbacks.response_trailers_->get("x-sum"));
  stream.filter->onDestroy();
  EXPECT_EQ(1u, pool().idleCount());
}

TEST_F(RouterTest, InterimContinueIsRelayed) {
  Stream& stream = request(
      "POST", "/", {{"host", "h"}, {"expect", "100-continue"}, {"content-length", "2"}}, false);
  connect(0);
  EXPECT_THAT(upstream(0).written_, testing::HasSubstr("expect: 100-continue\r\n"));
  respond(0, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_EQ(1u, stream.callbacks.interim_headers_.size());
  EXPECT_EQ(100, stream.callbacks.interim_headers_[0]->status());
  EXPECT_EQ(nullptr, stream.callbacks.response_headers_);
  body(stream, "hi", true);
  EXPECT_THAT(upstream(0).written_, testing::EndsWith("\r\n\r\nhi"));
  respond(0, kOk);
  EXPECT_EQ(200, stream.callbacks.response_headers_->status());
  stream.filter->onDestroy();
}

TEST_F(RouterTest, ConnectRefusedIs502) {
  Stream& stream = get();
  failConnect(0, ECONNREFUSED);
  EXPECT_EQ(502, stream.callbacks.local_reply_code_);
  EXPECT_EQ("upstream connection refused\n", stream.callbacks.local_reply_body_);
  EXPECT_EQ(http::RequestFailure::kUpstreamConnectRefused, stream.callbacks.stream_info_.failure);
  EXPECT_FALSE(timer(kResponseTimeout)->enabled_);
  stream.filter->onDestroy();
  EXPECT_EQ(0u, pool().idleCount());
}

TEST_F(RouterTest, OtherConnectErrorIs502) {
  Stream& stream = get();
  failConnect(0, EHOSTUNREACH);
  EXPECT_EQ(502, stream.callbacks.local_reply_code_);
  EXPECT_EQ(http::RequestFailure::kUpstreamConnectError, stream.callbacks.stream_info_.failure);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, ConnectTimeoutIs504) {
  Stream& stream = get();
  event::MockTimer* connect_timer = timer(kConnectTimeout);
  ASSERT_NE(nullptr, connect_timer);
  EXPECT_TRUE(connect_timer->enabled_);
  connect_timer->invokeCallback();
  EXPECT_EQ(504, stream.callbacks.local_reply_code_);
  EXPECT_EQ("upstream connect timeout\n", stream.callbacks.local_reply_body_);
  EXPECT_EQ(http::RequestFailure::kUpstreamConnectTimeout, stream.callbacks.stream_info_.failure);
  EXPECT_EQ(network::ConnectionState::kClosed, upstream(0).state_);
  ASSERT_EQ(1u, logger_.lines_.size());
  EXPECT_THAT(logger_.lines_[0],
              testing::MatchesRegex("info timeout connect_timeout \\([0-9a-z]+\\) fired: listener "
                                    "web client 10\\.0\\.0\\.7:5555"));
  stream.filter->onDestroy();
}

TEST_F(RouterTest, ResponseTimeoutIs504AndClosesTheUpstream) {
  Stream& stream = get();
  connect(0);
  event::MockTimer* response_timer = timer(kResponseTimeout);
  ASSERT_NE(nullptr, response_timer);
  EXPECT_TRUE(response_timer->enabled_);
  response_timer->invokeCallback();
  EXPECT_EQ(504, stream.callbacks.local_reply_code_);
  EXPECT_EQ("upstream response timeout\n", stream.callbacks.local_reply_body_);
  EXPECT_EQ(http::RequestFailure::kUpstreamResponseTimeout, stream.callbacks.stream_info_.failure);
  EXPECT_EQ(network::ConnectionState::kClosed, upstream(0).state_);
  ASSERT_EQ(1u, logger_.lines_.size());
  EXPECT_THAT(logger_.lines_[0],
              testing::MatchesRegex("info timeout response_timeout \\([0-9a-z]+\\) fired: listener "
                                    "web client 10\\.0\\.0\\.7:5555"));
  stream.filter->onDestroy();
  EXPECT_EQ(0u, pool().idleCount());
}

TEST_F(RouterTest, ResponseTimerRunsFromTheRequestsEndUntilResponseHeaders) {
  Stream& stream = request("POST", "/", {{"host", "h"}, {"content-length", "4"}}, false);
  connect(0);
  EXPECT_EQ(nullptr, timer(kResponseTimeout));
  body(stream, "data", true);
  ASSERT_NE(nullptr, timer(kResponseTimeout));
  EXPECT_TRUE(timer(kResponseTimeout)->enabled_);
  respond(0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
  EXPECT_FALSE(timer(kResponseTimeout)->enabled_);
  respond(0, "ok");
  stream.filter->onDestroy();
}

TEST_F(RouterTest, ZeroResponseTimeoutDisablesIt) {
  config_->response_timeout = std::chrono::milliseconds(0);
  Stream& stream = get();
  connect(0);
  EXPECT_EQ(nullptr, timer(std::chrono::milliseconds(0)));
  stream.filter->onDestroy();
}

TEST_F(RouterTest, ResetBeforeResponseIs502) {
  Stream& stream = get();
  connect(0);
  remoteClose(0, "connection_reset");
  EXPECT_EQ(502, stream.callbacks.local_reply_code_);
  EXPECT_EQ("upstream reset before response\n", stream.callbacks.local_reply_body_);
  EXPECT_EQ(http::RequestFailure::kUpstreamReset, stream.callbacks.stream_info_.failure);
  // A fresh connection is not retried.
  EXPECT_EQ(1u, upstreams_.size());
  stream.filter->onDestroy();
}

TEST_F(RouterTest, InvalidResponseIs502) {
  Stream& stream = get();
  connect(0);
  respond(0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok");
  EXPECT_EQ(502, stream.callbacks.local_reply_code_);
  EXPECT_EQ("invalid upstream response\n", stream.callbacks.local_reply_body_);
  EXPECT_EQ(http::RequestFailure::kUpstreamProtocolError, stream.callbacks.stream_info_.failure);
  EXPECT_EQ(nullptr, stream.callbacks.response_headers_);
  EXPECT_EQ(network::ConnectionState::kClosed, upstream(0).state_);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, CutOffMidBodyResetsTheStream) {
  Stream& stream = get();
  connect(0);
  respond(0, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf");
  EXPECT_EQ("half", stream.callbacks.response_body_);
  EXPECT_CALL(stream.callbacks, sendLocalReply(_, _)).Times(0);
  EXPECT_CALL(stream.callbacks, resetStream());
  remoteClose(0);
  EXPECT_EQ(http::RequestFailure::kUpstreamReset, stream.callbacks.stream_info_.failure);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, InvalidChunkMidBodyResetsTheStream) {
  Stream& stream = get();
  connect(0);
  respond(0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
  EXPECT_EQ("abc", stream.callbacks.response_body_);
  respond(0, "zz\r\n");
  EXPECT_TRUE(stream.callbacks.reset_);
  EXPECT_EQ(0, stream.callbacks.local_replies_);
  EXPECT_EQ(http::RequestFailure::kUpstreamProtocolError, stream.callbacks.stream_info_.failure);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, KeepAliveConnectionIsReusedByTheNextRequest) {
  Stream& first = get("/one");
  connect(0);
  completeExchange(first, 0);
  EXPECT_EQ(1u, pool().idleCount());

  Stream& second = get("/two");
  EXPECT_EQ(1u, upstreams_.size());
  EXPECT_EQ(0u, pool().idleCount());
  EXPECT_THAT(upstream(0).written_, testing::EndsWith("GET /two HTTP/1.1\r\nhost: backend:8080\r\n"
                                                      "x-forwarded-host: client.example\r\n"
                                                      "x-forwarded-proto: http\r\n"
                                                      "x-forwarded-for: 10.0.0.7\r\n\r\n"));
  // Reused connections need no connect timer; the response timer runs.
  EXPECT_TRUE(timer(kResponseTimeout)->enabled_);
  completeExchange(second, 0);
  EXPECT_EQ(1u, pool().idleCount());
  EXPECT_EQ(network::ConnectionState::kOpen, upstream(0).state_);
}

TEST_F(RouterTest, ConnectionCloseResponseIsNotReused) {
  Stream& first = get();
  connect(0);
  respond(0, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ("ok", first.callbacks.response_body_);
  EXPECT_EQ(network::ConnectionState::kClosed, upstream(0).state_);
  first.filter->onDestroy();
  EXPECT_EQ(0u, pool().idleCount());

  get();
  EXPECT_EQ(2u, upstreams_.size());
}

TEST_F(RouterTest, ReusedConnectionClosedBeforeAnswerIsRetriedOnAFreshOne) {
  Stream& first = get();
  connect(0);
  completeExchange(first, 0);

  Stream& second = get("/again");
  ASSERT_EQ(1u, upstreams_.size());
  // The upstream had closed the idle connection just as it was reused.
  remoteClose(0);
  ASSERT_EQ(2u, upstreams_.size());
  EXPECT_EQ(0, second.callbacks.local_replies_);
  connect(1);
  EXPECT_THAT(upstream(1).written_, testing::StartsWith("GET /again HTTP/1.1\r\n"));
  respond(1, kOk);
  EXPECT_EQ("ok", second.callbacks.response_body_);
  EXPECT_EQ(http::RequestFailure::kNone, second.callbacks.stream_info_.failure);
  second.filter->onDestroy();
  EXPECT_EQ(1u, pool().idleCount());
}

TEST_F(RouterTest, RetryFailingAgainIsAnswered502) {
  Stream& first = get();
  connect(0);
  completeExchange(first, 0);

  Stream& second = get();
  remoteClose(0);
  ASSERT_EQ(2u, upstreams_.size());
  connect(1);
  remoteClose(1, "connection_reset");
  EXPECT_EQ(2u, upstreams_.size());
  EXPECT_EQ(502, second.callbacks.local_reply_code_);
  EXPECT_EQ(http::RequestFailure::kUpstreamReset, second.callbacks.stream_info_.failure);
  second.filter->onDestroy();
}

TEST_F(RouterTest, RetryReplaysAHeldBody) {
  Stream& first = get();
  connect(0);
  completeExchange(first, 0);

  Stream& second = request("POST", "/form", {{"host", "h"}, {"content-length", "7"}}, false);
  body(second, "a=1", false);
  body(second, "&b=2", true);
  remoteClose(0);
  ASSERT_EQ(2u, upstreams_.size());
  connect(1);
  EXPECT_THAT(upstream(1).written_, testing::StartsWith("POST /form HTTP/1.1\r\n"));
  EXPECT_THAT(upstream(1).written_, testing::EndsWith("\r\n\r\na=1&b=2"));
  respond(1, kOk);
  EXPECT_EQ("ok", second.callbacks.response_body_);
  second.filter->onDestroy();
}

TEST_F(RouterTest, RetryContinuesABodyStillArriving) {
  Stream& first = get();
  connect(0);
  completeExchange(first, 0);

  Stream& second = request("POST", "/up", {{"host", "h"}, {"content-length", "6"}}, false);
  body(second, "abc", false);
  remoteClose(0);
  ASSERT_EQ(2u, upstreams_.size());
  body(second, "def", true);
  connect(1);
  EXPECT_THAT(upstream(1).written_, testing::EndsWith("\r\n\r\nabcdef"));
  second.filter->onDestroy();
}

TEST_F(RouterTest, LargeBodyIsNotReplayed) {
  Stream& first = get();
  connect(0);
  completeExchange(first, 0);

  Stream& second = request("POST", "/big", {{"host", "h"}, {"content-length", "100000"}}, false);
  body(second, std::string(kMaxRetainedBody, 'x'), false);
  body(second, "y", false);  // one byte more than is kept
  remoteClose(0);
  EXPECT_EQ(1u, upstreams_.size());
  EXPECT_EQ(502, second.callbacks.local_reply_code_);
  EXPECT_EQ(http::RequestFailure::kUpstreamReset, second.callbacks.stream_info_.failure);
  second.filter->onDestroy();
}

TEST_F(RouterTest, NoRetryOnceResponseBytesArrived) {
  Stream& first = get();
  connect(0);
  completeExchange(first, 0);

  Stream& second = get();
  respond(0, "HTTP/1.1 200");
  remoteClose(0);
  EXPECT_EQ(1u, upstreams_.size());
  EXPECT_EQ(502, second.callbacks.local_reply_code_);
  second.filter->onDestroy();
}

TEST_F(RouterTest, UpstreamWriteWatermarksPauseTheClient) {
  Stream& stream = request("POST", "/", {{"host", "h"}, {"content-length", "10"}}, false);
  EXPECT_EQ(1024u * 1024u, upstream(0).buffer_limit_);
  connect(0);
  upstream(0).raiseAboveHighWatermark();
  EXPECT_EQ(1, stream.callbacks.read_disable_count_);
  upstream(0).raiseAboveHighWatermark();  // held once
  EXPECT_EQ(1, stream.callbacks.read_disable_count_);
  upstream(0).raiseBelowLowWatermark();
  EXPECT_EQ(0, stream.callbacks.read_disable_count_);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, DownstreamWatermarksPauseTheUpstream) {
  Stream& stream = get();
  connect(0);
  ASSERT_EQ(1u, stream.callbacks.watermark_callbacks_.size());
  http::DownstreamWatermarkCallbacks& watermarks = *stream.callbacks.watermark_callbacks_[0];
  respond(0, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab");
  watermarks.onAboveWriteBufferHighWatermark();
  EXPECT_EQ(1, upstream(0).read_disable_count_);
  watermarks.onBelowWriteBufferLowWatermark();
  EXPECT_EQ(0, upstream(0).read_disable_count_);
  watermarks.onAboveWriteBufferHighWatermark();
  respond(0, "cd");
  // Back in the pool, reading again.
  stream.filter->onDestroy();
  EXPECT_EQ(1u, pool().idleCount());
  EXPECT_EQ(0, upstream(0).read_disable_count_);
  EXPECT_TRUE(stream.callbacks.watermark_callbacks_.empty());
}

TEST_F(RouterTest, DownstreamAlreadyAboveHighWatermarkPausesANewUpstream) {
  streams_.push_back(std::make_unique<Stream>());
  Stream& stream = *streams_.back();
  ON_CALL(stream.callbacks, dispatcher()).WillByDefault(ReturnRef(dispatcher_));
  stream.callbacks.route_ = route_;
  // What the connection manager does when the client is already behind.
  ON_CALL(stream.callbacks, addDownstreamWatermarkCallbacks(_))
      .WillByDefault([](http::DownstreamWatermarkCallbacks& callbacks) {
        callbacks.onAboveWriteBufferHighWatermark();
      });
  stream.headers.setMethod("GET");
  stream.headers.setPath("/");
  stream.filter = std::make_shared<RouterFilter>(config_);
  stream.filter->setDecoderFilterCallbacks(stream.callbacks);
  stream.filter->decodeHeaders(stream.headers, true);
  EXPECT_EQ(1, upstream(0).read_disable_count_);
  // No client connection in this test: no X-Forwarded-For.
  EXPECT_FALSE(stream.headers.get("x-forwarded-for").has_value());
  stream.filter->onDestroy();
}

TEST_F(RouterTest, DestroyMidRequestClosesTheUpstream) {
  Stream& stream = request("POST", "/", {{"host", "h"}, {"content-length", "10"}}, false);
  connect(0);
  body(stream, "12345", false);
  EXPECT_CALL(stream.callbacks, removeDownstreamWatermarkCallbacks(_));
  stream.filter->onDestroy();
  EXPECT_EQ(network::ConnectionState::kClosed, upstream(0).state_);
  EXPECT_EQ("exchange_unfinished", upstream(0).close_reason_);
  EXPECT_EQ(0u, pool().idleCount());
  EXPECT_FALSE(timer(kConnectTimeout)->enabled_);
}

TEST_F(RouterTest, DestroyMidResponseClosesTheUpstream) {
  Stream& stream = get();
  connect(0);
  respond(0, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf");
  stream.filter->onDestroy();
  EXPECT_EQ(network::ConnectionState::kClosed, upstream(0).state_);
  EXPECT_EQ(0u, pool().idleCount());
  EXPECT_EQ(http::RequestFailure::kNone, stream.callbacks.stream_info_.failure);
}

// ---------------------------------------------------------------------------------------
// Upgrade: a 101 turns the stream into a byte tunnel.

constexpr std::string_view kSwitching =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

TEST_F(RouterTest, UpgradeRequestKeepsItsUpgradeHeadersOnly) {
  request("GET", "/chat",
          {{"host", "h"},
           {"connection", "keep-alive, Upgrade, X-Private"},
           {"upgrade", "websocket"},
           {"x-private", "p"},
           {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="}});
  connect(0);
  const std::string& written = upstream(0).written_;
  EXPECT_THAT(written, testing::HasSubstr("connection: upgrade\r\nupgrade: websocket\r\n"));
  EXPECT_THAT(written, testing::HasSubstr("sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
  EXPECT_THAT(written, testing::Not(testing::HasSubstr("x-private")));
  EXPECT_THAT(written, testing::Not(testing::HasSubstr("keep-alive")));
}

TEST_F(RouterTest, UpgradeThatCannotBeTunnelledIsAPlainRequest) {
  // With a body, asking for h2c, or without "Connection: upgrade": the upgrade headers go.
  Stream& with_body = request(
      "POST", "/",
      {{"host", "h"}, {"connection", "upgrade"}, {"upgrade", "websocket"}, {"content-length", "2"}},
      false);
  body(with_body, "hi", true);
  Stream& h2c = request("GET", "/",
                        {{"host", "h"},
                         {"connection", "Upgrade, HTTP2-Settings"},
                         {"upgrade", "h2c"},
                         {"http2-settings", "AAMAAABkAAQAAP__"}});
  Stream& no_connection = request("GET", "/", {{"host", "h"}, {"upgrade", "websocket"}});
  for (size_t i = 0; i < 3; ++i) {
    connect(i);
    EXPECT_THAT(upstream(i).written_, testing::Not(testing::HasSubstr("pgrade")));
    EXPECT_THAT(upstream(i).written_, testing::Not(testing::HasSubstr("onnection")));
    EXPECT_THAT(upstream(i).written_, testing::Not(testing::HasSubstr("http2-settings")));
  }
  // And a 101 to such a request is an invalid response.
  respond(1, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n");
  EXPECT_EQ(502, h2c.callbacks.local_reply_code_);
  with_body.filter->onDestroy();
  h2c.filter->onDestroy();
  no_connection.filter->onDestroy();
}

TEST_F(RouterTest, SwitchingProtocolsTunnelsBytesBothWaysWithHalfClose) {
  Stream& stream =
      request("GET", "/chat", {{"host", "h"}, {"connection", "upgrade"}, {"upgrade", "websocket"}});
  connect(0);
  respond(0, std::string(kSwitching) + "\x81\x02hi");
  ASSERT_NE(nullptr, stream.callbacks.response_headers_);
  const http::ResponseHeaderMap& headers = *stream.callbacks.response_headers_;
  EXPECT_EQ(101, headers.status());
  EXPECT_EQ("upgrade", *headers.get("connection"));
  EXPECT_EQ("websocket", *headers.get("upgrade"));
  EXPECT_EQ("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", *headers.get("sec-websocket-accept"));
  EXPECT_FALSE(stream.callbacks.response_end_stream_);
  EXPECT_EQ(101, stream.callbacks.stream_info_.response_code);
  EXPECT_EQ("\x81\x02hi", stream.callbacks.response_body_);
  EXPECT_TRUE(upstream(0).half_close_);
  // No response timer runs in a tunnel.
  event::MockTimer* response_timer = timer(kResponseTimeout);
  EXPECT_TRUE(response_timer == nullptr || !response_timer->enabled_);

  // The client's bytes go up as they are; its FIN becomes the upstream's FIN.
  const size_t head = upstream(0).written_.size();
  body(stream, "\x81\x02yo", false);
  EXPECT_EQ("\x81\x02yo", upstream(0).written_.substr(head));
  EXPECT_FALSE(upstream(0).write_end_stream_);
  body(stream, "", true);
  EXPECT_TRUE(upstream(0).write_end_stream_);
  EXPECT_EQ(network::ConnectionState::kOpen, upstream(0).state_);

  // The upstream still answers after the client's FIN; then its own FIN ends its side.
  respond(0, "late");
  EXPECT_EQ("\x81\x02hilate", stream.callbacks.response_body_);
  buffer::OwnedBuffer none;
  upstream(0).read_filters_.at(0)->onData(none, true);
  EXPECT_TRUE(stream.callbacks.response_end_stream_);
  EXPECT_FALSE(stream.callbacks.reset_);
  stream.filter->onDestroy();
  // Never pooled.
  EXPECT_EQ(0u, pool().idleCount());
  EXPECT_EQ(network::ConnectionState::kClosed, upstream(0).state_);
  EXPECT_EQ(http::RequestFailure::kNone, stream.callbacks.stream_info_.failure);
}

TEST_F(RouterTest, UpgradeIsRegisteredWithItsClusterUntilTheTunnelEnds) {
  Stream& stream =
      request("GET", "/chat", {{"host", "h"}, {"connection", "upgrade"}, {"upgrade", "websocket"}});
  // Registered from the request on: a reload before the 101 must find it too.
  EXPECT_EQ(cluster_.get(), tunnels_.clusterOf(downstream_.id()));
  connect(0);
  respond(0, kSwitching);
  EXPECT_EQ(cluster_.get(), tunnels_.clusterOf(downstream_.id()));
  EXPECT_EQ(1u, tunnels_.size());
  stream.filter->onDestroy();
  EXPECT_EQ(nullptr, tunnels_.clusterOf(downstream_.id()));
  EXPECT_EQ(0u, tunnels_.size());
}

TEST_F(RouterTest, TunnelLeavesTheRegistryWhenTheFilterGoesWithoutOnDestroy) {
  Stream& stream =
      request("GET", "/chat", {{"host", "h"}, {"connection", "upgrade"}, {"upgrade", "websocket"}});
  connect(0);
  respond(0, kSwitching);
  ASSERT_EQ(1u, tunnels_.size());
  stream.filter.reset();
  EXPECT_EQ(0u, tunnels_.size());
}

TEST_F(RouterTest, OrdinaryExchangesAndRefusedUpgradesAreNoTunnels) {
  Stream& plain = get();
  EXPECT_EQ(0u, tunnels_.size());
  connect(0);
  completeExchange(plain, 0);
  Stream& refused =
      request("GET", "/chat", {{"host", "h"}, {"connection", "upgrade"}, {"upgrade", "websocket"}});
  EXPECT_EQ(1u, tunnels_.size());
  // A 1xx is no answer yet; a final one other than 101 makes it an ordinary exchange.
  respond(0, "HTTP/1.1 102 Processing\r\n\r\n");
  EXPECT_EQ(1u, tunnels_.size());
  respond(0, "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(426, refused.callbacks.response_headers_->status());
  EXPECT_EQ(0u, tunnels_.size());
  refused.filter->onDestroy();
}

TEST_F(RouterTest, UpstreamClosingEndsTheTunnel) {
  Stream& stream =
      request("GET", "/chat", {{"host", "h"}, {"connection", "upgrade"}, {"upgrade", "websocket"}});
  connect(0);
  respond(0, kSwitching);
  respond(0, "bye");
  remoteClose(0);
  EXPECT_EQ("bye", stream.callbacks.response_body_);
  EXPECT_TRUE(stream.callbacks.response_end_stream_);
  // The client connection is closed (after a flush) by resetting the stream.
  EXPECT_TRUE(stream.callbacks.reset_);
  EXPECT_EQ(0, stream.callbacks.local_replies_);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, TunnelKeepsWatermarksBothWays) {
  Stream& stream =
      request("GET", "/chat", {{"host", "h"}, {"connection", "upgrade"}, {"upgrade", "websocket"}});
  connect(0);
  respond(0, kSwitching);
  ASSERT_EQ(1u, stream.callbacks.watermark_callbacks_.size());
  stream.callbacks.watermark_callbacks_[0]->onAboveWriteBufferHighWatermark();
  EXPECT_EQ(1, upstream(0).read_disable_count_);
  stream.callbacks.watermark_callbacks_[0]->onBelowWriteBufferLowWatermark();
  EXPECT_EQ(0, upstream(0).read_disable_count_);
  upstream(0).raiseAboveHighWatermark();
  EXPECT_EQ(1, stream.callbacks.read_disable_count_);
  upstream(0).raiseBelowLowWatermark();
  EXPECT_EQ(0, stream.callbacks.read_disable_count_);
  stream.filter->onDestroy();
}

TEST_F(RouterTest, TunnelEndSendsWhatIsQueuedBeforeClosingTheUpstream) {
  Stream& stream =
      request("GET", "/chat", {{"host", "h"}, {"connection", "upgrade"}, {"upgrade", "websocket"}});
  connect(0);
  respond(0, kSwitching);
  buffer::OwnedBuffer none;
  upstream(0).read_filters_.at(0)->onData(none, true);  // the upstream's FIN first
  // The client's last bytes and FIN may still be queued when the stream ends.
  EXPECT_CALL(upstream(0), close(network::ConnectionCloseType::kFlushWrite, _));
  body(stream, "last", false);
  body(stream, "", true);
  stream.filter->onDestroy();
  EXPECT_THAT(upstream(0).written_, testing::EndsWith("last"));
  EXPECT_EQ(network::ConnectionState::kClosed, upstream(0).state_);
  EXPECT_EQ(0u, pool().idleCount());
}

TEST_F(RouterTest, UpgradeAnsweredWithoutSwitchingIsAnOrdinaryExchange) {
  Stream& stream =
      request("GET", "/chat", {{"host", "h"}, {"connection", "upgrade"}, {"upgrade", "websocket"}});
  connect(0);
  respond(0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nUpgrade: websocket\r\n\r\nok");
  EXPECT_EQ(200, stream.callbacks.response_headers_->status());
  EXPECT_FALSE(stream.callbacks.response_headers_->get("upgrade").has_value());
  EXPECT_EQ("ok", stream.callbacks.response_body_);
  EXPECT_FALSE(upstream(0).half_close_);
  stream.filter->onDestroy();
  EXPECT_EQ(1u, pool().idleCount());
}

TEST_F(RouterTest, FinalResponseWithoutContinueIsRelayedAndTheConnectionDropped) {
  Stream& stream = request(
      "PUT", "/", {{"host", "h"}, {"expect", "100-continue"}, {"content-length", "5"}}, false);
  connect(0);
  respond(0, "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(stream.callbacks.interim_headers_.empty());
  EXPECT_EQ(417, stream.callbacks.response_headers_->status());
  EXPECT_TRUE(stream.callbacks.response_end_stream_);
  // The upstream never read the body it refused: its connection is not reused.
  EXPECT_EQ(network::ConnectionState::kClosed, upstream(0).state_);
  body(stream, "hello", true);
  stream.filter->onDestroy();
  EXPECT_EQ(0u, pool().idleCount());
}

TEST_F(RouterTest, SeveralInterimResponsesPrecedeTheFinalOne) {
  Stream& stream = request(
      "POST", "/", {{"host", "h"}, {"expect", "100-continue"}, {"content-length", "2"}}, false);
  connect(0);
  respond(0,
          "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n"
          "Connection: x-hop\r\nX-Hop: 1\r\n\r\n");
  ASSERT_EQ(2u, stream.callbacks.interim_headers_.size());
  EXPECT_EQ(100, stream.callbacks.interim_headers_[0]->status());
  EXPECT_EQ(103, stream.callbacks.interim_headers_[1]->status());
  EXPECT_EQ("</s.css>", *stream.callbacks.interim_headers_[1]->get("link"));
  EXPECT_FALSE(stream.callbacks.interim_headers_[1]->get("x-hop").has_value());
  body(stream, "hi", true);
  respond(0, kOk);
  EXPECT_EQ(200, stream.callbacks.response_headers_->status());
  stream.filter->onDestroy();
  EXPECT_EQ(1u, pool().idleCount());
}

TEST_F(RouterTest, EarlyResponseClosesTheConnectionAndDropsTheRestOfTheBody) {
  Stream& stream = request("POST", "/", {{"host", "h"}, {"content-length", "10"}}, false);
  connect(0);
  body(stream, "12345", false);
  respond(0, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(413, stream.callbacks.response_headers_->status());
  EXPECT_TRUE(stream.callbacks.response_end_stream_);
  EXPECT_EQ(network::ConnectionState::kClosed, upstream(0).state_);
  const size_t written = upstream(0).written_.size();
  body(stream, "67890", true);
  EXPECT_EQ(written, upstream(0).written_.size());
  stream.filter->onDestroy();
  EXPECT_EQ(0u, pool().idleCount());
}

TEST_F(RouterTest, ResponseCompletingInsideEncodeReleasesOnce) {
  Stream& stream = get();
  connect(0);
  // The connection manager ends the stream from inside the last encodeData().
  ON_CALL(stream.callbacks, encodeData(_, true)).WillByDefault([&](buffer::Instance& data, bool) {
    stream.callbacks.response_body_ += data.toString();
    data.drain(data.length());
    stream.filter->onDestroy();
  });
  respond(0, kOk);
  EXPECT_EQ("ok", stream.callbacks.response_body_);
  EXPECT_EQ(1u, pool().idleCount());
  EXPECT_EQ(network::ConnectionState::kOpen, upstream(0).state_);
}

TEST_F(RouterTest, LocalReplyEndingTheStreamInsideTheCallIsSafe) {
  Stream& stream = get();
  // The connection manager destroys the filters from inside sendLocalReply().
  ON_CALL(stream.callbacks, sendLocalReply(_, _)).WillByDefault([&](int code, std::string_view) {
    stream.callbacks.local_reply_code_ = code;
    stream.filter->onDestroy();
  });
  failConnect(0, ECONNREFUSED);
  EXPECT_EQ(502, stream.callbacks.local_reply_code_);
  EXPECT_EQ(0u, pool().idleCount());
}

}  // namespace
}  // namespace proxy::filters::router
