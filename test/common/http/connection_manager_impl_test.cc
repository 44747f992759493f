#include "common/http/connection_manager_impl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "common/buffer/buffer_impl.h"
#include "common/network/socket_util.h"
#include "common/stats/store_impl.h"
#include "test/mocks/access_log/mocks.h"
#include "test/mocks/event/mocks.h"
#include "test/mocks/log/mocks.h"
#include "test/mocks/network/mocks.h"

using testing::HasSubstr;
using testing::NiceMock;

namespace proxy::http {
namespace {

// A filter whose behaviour each test sets; it records what it saw.
class TestFilter : public StreamFilter {
 public:
  void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks& callbacks) override {
    decoder_callbacks_ = &callbacks;
  }
  FilterHeadersStatus decodeHeaders(RequestHeaderMap& headers, bool end_stream) override {
    paths_.push_back(std::string(headers.path()));
    headers_end_stream_ = end_stream;
    return on_headers_ ? on_headers_(headers, end_stream) : FilterHeadersStatus::kContinue;
  }
  FilterDataStatus decodeData(buffer::Instance& data, bool end_stream) override {
    body_ += data.toString();
    data_end_stream_ = end_stream;
    if (on_data_) {
      return on_data_(data, end_stream);
    }
    return FilterDataStatus::kContinue;
  }
  FilterTrailersStatus decodeTrailers(HeaderMap&) override {
    return FilterTrailersStatus::kContinue;
  }
  void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks&) override {}
  FilterHeadersStatus encodeHeaders(ResponseHeaderMap& headers, bool) override {
    response_codes_.push_back(headers.status());
    return FilterHeadersStatus::kContinue;
  }
  FilterDataStatus encodeData(buffer::Instance&, bool) override {
    return FilterDataStatus::kContinue;
  }
  FilterTrailersStatus encodeTrailers(HeaderMap&) override {
    return FilterTrailersStatus::kContinue;
  }
  void onDestroy() override {
    ++destroyed_;
    last_failure_ = decoder_callbacks_->streamInfo().failure;
  }

  // Answers with `code` and `body` from the terminal position.
  void respond(int code, const std::string& body) {
    auto headers = std::make_unique<ResponseHeaderMap>();
    headers->setStatus(code);
    headers->add("content-length", std::to_string(body.size()));
    decoder_callbacks_->encodeHeaders(std::move(headers), body.empty());
    if (!body.empty()) {
      buffer::OwnedBuffer data;
      data.add(body);
      decoder_callbacks_->encodeData(data, true);
    }
  }

  StreamDecoderFilterCallbacks* decoder_callbacks_ = nullptr;
  std::function<FilterHeadersStatus(RequestHeaderMap&, bool)> on_headers_;
  std::function<FilterDataStatus(buffer::Instance&, bool)> on_data_;
  std::vector<std::string> paths_;
  std::vector<int> response_codes_;
  std::string body_;
  bool headers_end_stream_ = false;
  bool data_end_stream_ = false;
  int destroyed_ = 0;
  RequestFailure last_failure_ = RequestFailure::kNone;
};

class ConnectionManagerImplTest : public testing::Test {
 protected:
  // `tweak` changes the listener's config before the manager is made.
  explicit ConnectionManagerImplTest(
      const std::function<void(ConnectionManagerConfig&)>& tweak = nullptr) {
    auto config = std::make_shared<ConnectionManagerConfig>();
    config->request_headers_timeout = std::chrono::milliseconds(10000);
    config->idle_timeout = std::chrono::milliseconds(60000);
    config->stream_idle_timeout = std::chrono::milliseconds(300000);
    config->listener_name = "web";
    config->logger = &logger_;
    config->access_log = access_log_;
    connection().remote_address_ = network::resolveAddresses("127.0.0.1", 5555).at(0);
    for (const char* reason : {"malformed", "missing_host", "request_headers_timeout", "other"}) {
      config->rejections[reason] = &store_.counter("rejected", "test", {{"reason", reason}});
    }
    // A fresh front and terminal filter per stream; the test reaches the latest through
    // front_ and terminal_.
    config->filter_factories.push_back([this](FilterChainFactoryCallbacks& callbacks) {
      front_ = std::make_shared<TestFilter>();
      if (front_setup_) {
        front_setup_(*front_);
      }
      callbacks.addStreamFilter(front_);
    });
    config->filter_factories.push_back([this](FilterChainFactoryCallbacks& callbacks) {
      terminal_ = std::make_shared<TestFilter>();
      terminal_->on_headers_ = [this](RequestHeaderMap&, bool end_stream) {
        if (end_stream && auto_respond_) {
          terminal_->respond(200, "hello");
        }
        return FilterHeadersStatus::kStopIteration;
      };
      terminal_->on_data_ = [this](buffer::Instance& data, bool end_stream) {
        data.drain(data.length());
        if (end_stream && auto_respond_) {
          terminal_->respond(200, "got it");
        }
        return FilterDataStatus::kStopIteration;
      };
      callbacks.addStreamDecoderFilter(terminal_);
    });
    if (tweak) {
      tweak(*config);
    }
    config_ = config;
    manager_ = std::make_shared<ConnectionManagerImpl>(config_);
    connection().addReadFilter(manager_);
    manager_->initializeReadFilterCallbacks(callbacks_);
    manager_->onNewConnection();
  }

  network::MockConnection& connection() { return callbacks_.connection_; }
  event::MockDispatcher& dispatcher() { return connection().dispatcher_; }
  // The idle/request-headers timer and the pipelining resume timer, in creation order.
  event::MockTimer& timeoutTimer() { return *dispatcher().timers().at(0); }
  event::MockTimer& resumeTimer() { return *dispatcher().timers().at(1); }

  void receive(const std::string& bytes) {
    buffer::OwnedBuffer data;
    data.add(bytes);
    manager_->onData(data, false);
  }
  double rejected(const std::string& reason) {
    for (const auto& family : store_.snapshot()) {
      for (const auto& metric : family.metrics) {
        if (metric.labels == stats::Labels{{"reason", reason}}) {
          return metric.value;
        }
      }
    }
    return -1;
  }

  stats::StoreImpl store_{1};
  NiceMock<log::MockLogger> logger_;
  std::shared_ptr<NiceMock<access_log::MockAccessLogSink>> access_log_ =
      std::make_shared<NiceMock<access_log::MockAccessLogSink>>();
  ConnectionManagerConfigConstSharedPtr config_;
  NiceMock<network::MockReadFilterCallbacks> callbacks_;
  std::shared_ptr<ConnectionManagerImpl> manager_;
  std::shared_ptr<TestFilter> front_;
  std::shared_ptr<TestFilter> terminal_;
  std::function<void(TestFilter&)> front_setup_;
  bool auto_respond_ = true;
};

TEST_F(ConnectionManagerImplTest, AnswersARequestAndKeepsTheConnection) {
  receive("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(std::vector<std::string>{"/a"}, terminal_->paths_);
  EXPECT_TRUE(terminal_->headers_end_stream_);
  EXPECT_THAT(connection().written_, HasSubstr("HTTP/1.1 200"));
  EXPECT_THAT(connection().written_, HasSubstr("\r\n\r\nhello"));
  EXPECT_EQ(network::ConnectionState::kOpen, connection().state_);
  EXPECT_EQ(1, front_->destroyed_);
  EXPECT_EQ(std::vector<int>{200}, front_->response_codes_);
  EXPECT_TRUE(timeoutTimer().enabled_);  // idle again
}

TEST_F(ConnectionManagerImplTest, PipelinedRequestsAreAnsweredInOrder) {
  auto_respond_ = false;
  receive("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(std::vector<std::string>{"/1"}, terminal_->paths_);
  auto first = terminal_;
  first->respond(200, "one");
  EXPECT_TRUE(resumeTimer().enabled_);
  resumeTimer().invokeCallback();
  ASSERT_NE(first, terminal_);
  EXPECT_EQ(std::vector<std::string>{"/2"}, terminal_->paths_);
  terminal_->respond(200, "two");
  const std::string& out = connection().written_;
  EXPECT_LT(out.find("one"), out.find("two"));
}

TEST_F(ConnectionManagerImplTest, BodyStreamsToTheTerminalFilter) {
  receive("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234");
  EXPECT_FALSE(terminal_->headers_end_stream_);
  receive("56789");
  EXPECT_EQ("0123456789", front_->body_);
  EXPECT_TRUE(front_->data_end_stream_);
  EXPECT_THAT(connection().written_, HasSubstr("got it"));
}

TEST_F(ConnectionManagerImplTest, MalformedRequestGets400AndClose) {
  receive("GET / HTTP/1.1\r\nHost : x\r\n\r\n");
  EXPECT_THAT(connection().written_, HasSubstr("HTTP/1.1 400"));
  EXPECT_THAT(connection().written_, HasSubstr("Connection: close"));
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
  EXPECT_EQ(nullptr, terminal_);  // never reached a filter
  EXPECT_EQ(1, rejected("malformed"));
}

TEST_F(ConnectionManagerImplTest, MissingHostIsRejected) {
  receive("GET / HTTP/1.1\r\n\r\n");
  EXPECT_THAT(connection().written_, HasSubstr("HTTP/1.1 400"));
  EXPECT_EQ(1, rejected("missing_host"));
}

TEST_F(ConnectionManagerImplTest, LocalReplyEndsTheDecoderChain) {
  front_setup_ = [](TestFilter& filter) {
    filter.on_headers_ = [&filter](RequestHeaderMap&, bool) {
      filter.decoder_callbacks_->sendLocalReply(404, "no route\n");
      return FilterHeadersStatus::kStopIteration;
    };
  };
  receive("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(terminal_->paths_.empty());
  EXPECT_THAT(connection().written_, HasSubstr("HTTP/1.1 404"));
  EXPECT_THAT(connection().written_, HasSubstr("no route"));
  EXPECT_EQ(std::vector<int>{404}, front_->response_codes_);  // encoders saw it
  EXPECT_EQ(network::ConnectionState::kOpen, connection().state_);
}

TEST_F(ConnectionManagerImplTest, ConnectionCloseRequestClosesAfterTheResponse) {
  receive("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(connection().written_, HasSubstr("Connection: close"));
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
}

TEST_F(ConnectionManagerImplTest, DrainClosesAnIdleConnection) {
  manager_->onDrain();
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
}

TEST_F(ConnectionManagerImplTest, DrainAnswersTheRequestInFlightWithClose) {
  auto_respond_ = false;
  receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  manager_->onDrain();
  EXPECT_EQ(network::ConnectionState::kOpen, connection().state_);
  terminal_->respond(200, "last");
  EXPECT_THAT(connection().written_, HasSubstr("Connection: close"));
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
}

TEST_F(ConnectionManagerImplTest, IdleTimeoutCloses) {
  EXPECT_EQ(std::chrono::milliseconds(60000), timeoutTimer().duration_);
  timeoutTimer().invokeCallback();
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
  EXPECT_EQ("", connection().written_);
}

TEST_F(ConnectionManagerImplTest, SlowRequestHeadersGet408) {
  receive("GET / HTTP/1.1\r\nHost: x\r\n");  // the blank line never comes
  EXPECT_EQ(std::chrono::milliseconds(10000), timeoutTimer().duration_);
  timeoutTimer().invokeCallback();
  EXPECT_THAT(connection().written_, HasSubstr("HTTP/1.1 408"));
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
  EXPECT_EQ(1, rejected("request_headers_timeout"));
}

TEST_F(ConnectionManagerImplTest, ClientGoneMidRequestResetsTheStream) {
  auto_respond_ = false;
  receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  connection().raiseEvent(network::ConnectionEvent::kRemoteClose);
  EXPECT_EQ(1, terminal_->destroyed_);
  EXPECT_EQ(RequestFailure::kClientReset, terminal_->last_failure_);
}

class RecordingWatermarks : public DownstreamWatermarkCallbacks {
 public:
  void onAboveWriteBufferHighWatermark() override { ++above_; }
  void onBelowWriteBufferLowWatermark() override { ++below_; }
  int above_ = 0;
  int below_ = 0;
};

TEST_F(ConnectionManagerImplTest, DownstreamWatermarksReachTheFilter) {
  auto_respond_ = false;
  receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  RecordingWatermarks watermarks;
  terminal_->decoder_callbacks_->addDownstreamWatermarkCallbacks(watermarks);
  connection().raiseAboveHighWatermark();
  connection().raiseBelowLowWatermark();
  EXPECT_EQ(1, watermarks.above_);
  EXPECT_EQ(1, watermarks.below_);
  terminal_->decoder_callbacks_->removeDownstreamWatermarkCallbacks(watermarks);
  terminal_->respond(204, "");
}

TEST_F(ConnectionManagerImplTest, ResetAfterResponseStartedClosesTheConnection) {
  auto_respond_ = false;
  receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto headers = std::make_unique<ResponseHeaderMap>();
  headers->add("content-length", "100");
  terminal_->decoder_callbacks_->encodeHeaders(std::move(headers), false);
  terminal_->decoder_callbacks_->resetStream();
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
}

// Timeouts log their name when they fire; the access log gets one record per request.

TEST_F(ConnectionManagerImplTest, IdleTimeoutLogsItsName) {
  timeoutTimer().invokeCallback();
  EXPECT_EQ(std::vector<std::string>{"info timeout idle_timeout (1m) fired: listener web client "
                                     "127.0.0.1:5555"},
            logger_.lines_);
  EXPECT_TRUE(access_log_->requests_.empty());  // no request, no line
}

TEST_F(ConnectionManagerImplTest, RequestHeadersTimeoutLogsAndRecordsTheRejection) {
  receive("GET / HTTP/1.1\r\nHost: x\r\n");
  timeoutTimer().invokeCallback();
  EXPECT_EQ(std::vector<std::string>{"info timeout request_headers_timeout (10s) fired: listener "
                                     "web client 127.0.0.1:5555"},
            logger_.lines_);
  ASSERT_EQ(1u, access_log_->requests_.size());
  const auto& record = access_log_->requests_[0];
  EXPECT_EQ("web", record.listener);
  EXPECT_EQ("127.0.0.1:5555", record.client.asString());
  EXPECT_EQ(408, record.info.response_code);
  EXPECT_EQ(RequestFailure::kRequestRejected, record.info.failure);
  EXPECT_EQ("request_headers_timeout", record.info.rejection);
}

TEST_F(ConnectionManagerImplTest, AccessLogRecordsTheRequestAsReceived) {
  dispatcher().time_ += std::chrono::seconds(1);  // the epoch means "never"
  receive("GET /a/../b?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(1u, access_log_->requests_.size());
  const auto& record = access_log_->requests_[0];
  EXPECT_EQ("GET", record.method);
  EXPECT_EQ("/a/../b?x=1", record.path);
  EXPECT_EQ("HTTP/1.1", record.protocol);
  EXPECT_EQ(200, record.info.response_code);
  EXPECT_EQ(5u, record.info.response_body_bytes);
  EXPECT_EQ(RequestFailure::kNone, record.info.failure);
  // The terminal filter handed over response headers: their time is known.
  EXPECT_NE(std::chrono::steady_clock::time_point{}, record.info.response_headers_time);
}

TEST_F(ConnectionManagerImplTest, LocalReplyHasNoUpstreamHeadersTime) {
  front_setup_ = [](TestFilter& filter) {
    filter.on_headers_ = [&filter](RequestHeaderMap&, bool) {
      filter.decoder_callbacks_->sendLocalReply(404, "no route\n");
      return FilterHeadersStatus::kStopIteration;
    };
  };
  receive("GET /x HTTP/1.0\r\n\r\n");
  ASSERT_EQ(1u, access_log_->requests_.size());
  EXPECT_EQ("HTTP/1.0", access_log_->requests_[0].protocol);
  EXPECT_EQ(404, access_log_->requests_[0].info.response_code);
  EXPECT_EQ(std::chrono::steady_clock::time_point{},
            access_log_->requests_[0].info.response_headers_time);
}

TEST_F(ConnectionManagerImplTest, CodecRejectionIsLoggedWithItsReason) {
  receive("GET / HTTP/1.1\r\nHost : x\r\n\r\n");
  ASSERT_EQ(1u, access_log_->requests_.size());
  const auto& record = access_log_->requests_[0];
  EXPECT_EQ("", record.method);
  EXPECT_EQ(400, record.info.response_code);
  EXPECT_EQ(RequestFailure::kRequestRejected, record.info.failure);
  EXPECT_EQ("malformed", record.info.rejection);
}

TEST_F(ConnectionManagerImplTest, BadBodyRejectionIsLoggedOnTheStream) {
  auto_respond_ = false;
  receive("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_NE(nullptr, terminal_);
  receive("zz\r\n");
  ASSERT_EQ(1u, access_log_->requests_.size());
  const auto& record = access_log_->requests_[0];
  EXPECT_EQ("/up", record.path);
  EXPECT_EQ(400, record.info.response_code);
  EXPECT_EQ(RequestFailure::kRequestRejected, record.info.failure);
  EXPECT_FALSE(record.info.rejection.empty());
}

TEST_F(ConnectionManagerImplTest, ClientGoneMidRequestIsLoggedAsClientReset) {
  auto_respond_ = false;
  receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  connection().raiseEvent(network::ConnectionEvent::kRemoteClose);
  ASSERT_EQ(1u, access_log_->requests_.size());
  EXPECT_EQ(RequestFailure::kClientReset, access_log_->requests_[0].info.failure);
  EXPECT_EQ(0, access_log_->requests_[0].info.response_code);
}

TEST_F(ConnectionManagerImplTest, StreamIdleTimeoutBeforeTheResponseGets504) {
  auto_respond_ = false;
  receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(timeoutTimer().enabled_);
  EXPECT_EQ(std::chrono::milliseconds(300000), timeoutTimer().duration_);
  dispatcher().time_ += std::chrono::seconds(300);
  timeoutTimer().invokeCallback();
  EXPECT_THAT(connection().written_, HasSubstr("HTTP/1.1 504"));
  EXPECT_EQ(1, terminal_->destroyed_);
  EXPECT_EQ(std::vector<std::string>{"info timeout stream_idle_timeout (5m) fired: listener web "
                                     "client 127.0.0.1:5555"},
            logger_.lines_);
  ASSERT_EQ(1u, access_log_->requests_.size());
  EXPECT_EQ(RequestFailure::kStreamIdleTimeout, access_log_->requests_[0].info.failure);
  EXPECT_EQ(504, access_log_->requests_[0].info.response_code);
}

TEST_F(ConnectionManagerImplTest, StreamIdleTimeoutWaitsForTheRestAfterActivity) {
  auto_respond_ = false;
  receive("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234");
  dispatcher().time_ += std::chrono::seconds(200);
  receive("567");  // a byte moved: the period restarts from here
  dispatcher().time_ += std::chrono::seconds(150);
  timeoutTimer().invokeCallback();
  EXPECT_TRUE(logger_.lines_.empty());
  EXPECT_EQ(std::chrono::milliseconds(150000), timeoutTimer().duration_);
  EXPECT_EQ(network::ConnectionState::kOpen, connection().state_);
  dispatcher().time_ += std::chrono::seconds(150);
  timeoutTimer().invokeCallback();
  EXPECT_THAT(connection().written_, HasSubstr("HTTP/1.1 504"));
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
}

TEST_F(ConnectionManagerImplTest, StreamIdleTimeoutAfterTheResponseStartedClosesTheConnection) {
  auto_respond_ = false;
  receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto headers = std::make_unique<ResponseHeaderMap>();
  headers->setStatus(200);
  headers->add("content-length", "100");
  terminal_->decoder_callbacks_->encodeHeaders(std::move(headers), false);
  dispatcher().time_ += std::chrono::seconds(300);
  timeoutTimer().invokeCallback();
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
  EXPECT_THAT(connection().written_, testing::Not(HasSubstr("504")));
  ASSERT_EQ(1u, access_log_->requests_.size());
  EXPECT_EQ(RequestFailure::kStreamIdleTimeout, access_log_->requests_[0].info.failure);
  EXPECT_EQ(200, access_log_->requests_[0].info.response_code);
}

TEST_F(ConnectionManagerImplTest, ConnectionIsIdleAgainAfterTheStream) {
  receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(std::chrono::milliseconds(60000), timeoutTimer().duration_);
  EXPECT_EQ(1u, access_log_->requests_.size());
}

TEST_F(ConnectionManagerImplTest, NothingOfARequestLeaksIntoTheNextOnTheSameConnection) {
  // Streams, header maps and the codec are recycled memory: the second request must see
  // only its own headers, and its response the framing of its own method.
  std::vector<std::vector<std::string>> seen;
  front_setup_ = [&seen](TestFilter& filter) {
    filter.on_headers_ = [&seen](RequestHeaderMap& headers, bool) {
      std::vector<std::string> names{std::string(headers.method()), std::string(headers.path())};
      for (const HeaderMap::Entry& entry : headers.entries()) {
        names.push_back(std::string(entry.name) + "=" + std::string(entry.value));
      }
      seen.push_back(names);
      return FilterHeadersStatus::kContinue;
    };
  };
  receive("HEAD /first HTTP/1.1\r\nHost: one\r\nX-Extra: 1\r\nX-More: 2\r\n\r\n");
  dispatcher().clearDeferredDeleteList();  // the first stream's memory goes back
  const size_t first_end = connection().written_.size();
  receive("GET /second HTTP/1.1\r\nHost: two\r\n\r\n");
  ASSERT_EQ(2u, seen.size());
  EXPECT_EQ((std::vector<std::string>{"HEAD", "/first", "Host=one", "X-Extra=1", "X-More=2"}),
            seen[0]);
  EXPECT_EQ((std::vector<std::string>{"GET", "/second", "Host=two"}), seen[1]);
  // The HEAD response had no body; the GET response has one.
  EXPECT_EQ(std::string::npos, connection().written_.substr(0, first_end).find("hello"));
  EXPECT_THAT(connection().written_.substr(first_end), HasSubstr("\r\n\r\nhello"));
  EXPECT_EQ(network::ConnectionState::kOpen, connection().state_);
}

// ---------------------------------------------------------------------------------------
// Upgrade: after a 101 the stream is a byte tunnel until both sides' FIN.

constexpr const char* kUpgrade =
    "GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";

class TunnelTest : public ConnectionManagerImplTest {
 protected:
  // The upgrade request (with `early` bytes behind it) answered with a 101.
  void switchProtocols(const std::string& early = "") {
    auto_respond_ = false;
    receive(kUpgrade + early);
    ASSERT_TRUE(terminal_->headers_end_stream_);
    auto headers = std::make_unique<ResponseHeaderMap>();
    headers->setStatus(101);
    headers->add("connection", "upgrade");
    headers->add("upgrade", "websocket");
    terminal_->decoder_callbacks_->encodeHeaders(std::move(headers), false);
  }
  void send(const std::string& bytes, bool end_stream) {
    buffer::OwnedBuffer data;
    data.add(bytes);
    terminal_->decoder_callbacks_->encodeData(data, end_stream);
  }
  void clientFin() {
    buffer::OwnedBuffer none;
    manager_->onData(none, true);
  }
};

TEST_F(TunnelTest, BytesFlowBothWaysAndEachFinIsRelayed) {
  switchProtocols("early");
  EXPECT_EQ("HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n",
            connection().written_);
  EXPECT_TRUE(connection().half_close_);
  // The bytes that came behind the head reach the filters from a fresh stack.
  EXPECT_EQ("", terminal_->body_);
  ASSERT_TRUE(resumeTimer().enabled_);
  resumeTimer().invokeCallback();
  EXPECT_EQ("early", terminal_->body_);
  receive("GET / HTTP/1.1\r\n\r\n");  // not parsed: tunnel bytes
  EXPECT_EQ("earlyGET / HTTP/1.1\r\n\r\n", terminal_->body_);
  EXPECT_FALSE(terminal_->data_end_stream_);

  send("pong", false);
  EXPECT_THAT(connection().written_, testing::EndsWith("\r\n\r\npong"));
  // The client's FIN ends its direction; the upstream's bytes still flow.
  clientFin();
  EXPECT_TRUE(terminal_->data_end_stream_);
  EXPECT_EQ(0, terminal_->destroyed_);
  send("late", false);
  EXPECT_THAT(connection().written_, testing::EndsWith("pong"
                                                       "late"));
  EXPECT_FALSE(connection().write_end_stream_);
  // The upstream's end is a FIN to the client, and the tunnel is over.
  send("", true);
  EXPECT_TRUE(connection().write_end_stream_);
  EXPECT_EQ(1, terminal_->destroyed_);
  EXPECT_EQ(RequestFailure::kNone, terminal_->last_failure_);
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
}

TEST_F(TunnelTest, UpstreamFinFirstLeavesTheClientSending) {
  switchProtocols();
  send("bye", true);
  EXPECT_TRUE(connection().write_end_stream_);
  EXPECT_EQ(0, terminal_->destroyed_);
  receive("still");
  EXPECT_EQ("still", terminal_->body_);
  clientFin();
  EXPECT_EQ(1, terminal_->destroyed_);
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
}

TEST_F(TunnelTest, UpstreamClosedEndsTheTunnelWithoutFailure) {
  switchProtocols();
  send("", true);
  terminal_->decoder_callbacks_->resetStream();
  EXPECT_EQ(RequestFailure::kNone, terminal_->last_failure_);
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
}

TEST_F(TunnelTest, DrainDoesNotCutATunnel) {
  switchProtocols();
  manager_->onDrain();
  EXPECT_EQ(network::ConnectionState::kOpen, connection().state_);
  receive("x");
  EXPECT_EQ("x", terminal_->body_);
  send("y", false);
  EXPECT_THAT(connection().written_, testing::EndsWith("y"));
}

TEST_F(TunnelTest, UpgradeAnsweredNormallyKeepsTheConnection) {
  auto_respond_ = false;
  receive(kUpgrade);
  terminal_->respond(426, "no");
  EXPECT_THAT(connection().written_, HasSubstr("HTTP/1.1 426"));
  EXPECT_FALSE(connection().half_close_);
  EXPECT_EQ(network::ConnectionState::kOpen, connection().state_);
  auto_respond_ = true;
  receive("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(std::vector<std::string>{"/next"}, terminal_->paths_);
}

TEST_F(ConnectionManagerImplTest, ResponseBeforeTheWholeRequestSaysConnectionClose) {
  // "Expect: 100-continue" answered with a final status: the client may or may not send the
  // body, so the connection ends, and the response says so.
  auto_respond_ = false;
  receive("PUT /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n");
  terminal_->respond(417, "");
  EXPECT_THAT(connection().written_, HasSubstr("HTTP/1.1 417"));
  EXPECT_THAT(connection().written_, HasSubstr("Connection: close"));
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
}

TEST_F(ConnectionManagerImplTest, InterimResponsesPrecedeTheFinalOne) {
  auto_respond_ = false;
  receive("PUT /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  auto interim = std::make_unique<ResponseHeaderMap>();
  interim->setStatus(100);
  terminal_->decoder_callbacks_->encode1xxHeaders(std::move(interim));
  EXPECT_EQ("HTTP/1.1 100 Continue\r\n\r\n", connection().written_);
  receive("ok");
  EXPECT_EQ("ok", terminal_->body_);
  terminal_->respond(201, "");
  EXPECT_THAT(connection().written_, HasSubstr("HTTP/1.1 201"));
  EXPECT_THAT(connection().written_, testing::Not(HasSubstr("Connection: close")));
  EXPECT_EQ(network::ConnectionState::kOpen, connection().state_);
}

TEST_F(ConnectionManagerImplTest, RequestsAnsweredAtOnceAreParsedOnePerLoopIteration) {
  // Answered from inside the codec: the next one waits for the resume timer, so one read
  // full of pipelined requests is not answered in one go.
  receive(
      "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(std::vector<std::string>{"/1"}, terminal_->paths_);
  ASSERT_TRUE(resumeTimer().enabled_);
  resumeTimer().invokeCallback();
  EXPECT_EQ(std::vector<std::string>{"/2"}, terminal_->paths_);
  ASSERT_TRUE(resumeTimer().enabled_);
  resumeTimer().invokeCallback();
  EXPECT_EQ(std::vector<std::string>{"/3"}, terminal_->paths_);
  EXPECT_EQ(3u, access_log_->requests_.size());
}

TEST_F(ConnectionManagerImplTest, PipelinedRequestsWaitWhileAnswersAreAboveTheHighWatermark) {
  receive("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(std::vector<std::string>{"/1"}, terminal_->paths_);
  // The client does not read: the answer to /1 is still queued above the high watermark.
  connection().raiseAboveHighWatermark();
  EXPECT_EQ(1, connection().read_disable_count_);
  resumeTimer().invokeCallback();
  EXPECT_EQ(std::vector<std::string>{"/1"}, terminal_->paths_);  // /2 is not parsed
  EXPECT_EQ(1, connection().read_disable_count_);
  connection().raiseBelowLowWatermark();
  EXPECT_EQ(0, connection().read_disable_count_);
  ASSERT_TRUE(resumeTimer().enabled_);
  resumeTimer().invokeCallback();
  EXPECT_EQ(std::vector<std::string>{"/2"}, terminal_->paths_);
}

TEST_F(ConnectionManagerImplTest, AnAnswerLeftAboveTheHighWatermarkHoldsTheNextRequest) {
  auto_respond_ = false;
  receive("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
  connection().raiseAboveHighWatermark();
  EXPECT_EQ(1, connection().read_disable_count_);  // request complete: reading waits too
  terminal_->respond(200, "one");
  // No parse is scheduled while the client has not taken its answers.
  EXPECT_TRUE(dispatcher().timers().size() < 2 || !resumeTimer().enabled_);
  EXPECT_EQ(1, connection().read_disable_count_);
  connection().raiseBelowLowWatermark();
  EXPECT_EQ(0, connection().read_disable_count_);
  ASSERT_TRUE(resumeTimer().enabled_);
  resumeTimer().invokeCallback();
  EXPECT_EQ(std::vector<std::string>{"/2"}, terminal_->paths_);
}

TEST_F(ConnectionManagerImplTest, ARequestBodyIsStillReadAboveTheHighWatermark) {
  // The body's pace is the upstream's (through the router's watermarks), not this one's.
  auto_respond_ = false;
  receive("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234");
  connection().raiseAboveHighWatermark();
  EXPECT_EQ(0, connection().read_disable_count_);
  receive("56789");
  EXPECT_EQ("0123456789", front_->body_);
}

TEST_F(ConnectionManagerImplTest, ResponseBytesQueuedAboveTheHighWatermarkAreNotActivity) {
  auto_respond_ = false;
  receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto headers = std::make_unique<ResponseHeaderMap>();
  headers->setStatus(200);
  headers->add("content-length", "100");
  terminal_->decoder_callbacks_->encodeHeaders(std::move(headers), false);
  connection().raiseAboveHighWatermark();
  dispatcher().time_ += std::chrono::seconds(200);
  buffer::OwnedBuffer data;
  data.add("0123456789");
  terminal_->decoder_callbacks_->encodeData(data, false);  // queued, not sent
  dispatcher().time_ += std::chrono::seconds(100);
  EXPECT_CALL(connection(), close(network::ConnectionCloseType::kNoFlush, "stream_idle_timeout"));
  timeoutTimer().invokeCallback();
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
  EXPECT_EQ(std::vector<std::string>{"info timeout stream_idle_timeout (5m) fired: listener web "
                                     "client 127.0.0.1:5555"},
            logger_.lines_);
  ASSERT_EQ(1u, access_log_->requests_.size());
  EXPECT_EQ(RequestFailure::kStreamIdleTimeout, access_log_->requests_[0].info.failure);
}

TEST_F(ConnectionManagerImplTest, AClientDrainingToTheLowWatermarkIsActivity) {
  auto_respond_ = false;
  receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto headers = std::make_unique<ResponseHeaderMap>();
  headers->setStatus(200);
  headers->add("content-length", "100");
  terminal_->decoder_callbacks_->encodeHeaders(std::move(headers), false);
  connection().raiseAboveHighWatermark();
  dispatcher().time_ += std::chrono::seconds(200);
  connection().raiseBelowLowWatermark();
  dispatcher().time_ += std::chrono::seconds(100);
  timeoutTimer().invokeCallback();
  EXPECT_EQ(network::ConnectionState::kOpen, connection().state_);
  EXPECT_TRUE(timeoutTimer().enabled_);
  EXPECT_EQ(std::chrono::seconds(200), timeoutTimer().duration_);
}

TEST_F(ConnectionManagerImplTest, SetsTheDelayedCloseTimeoutOnTheConnection) {
  EXPECT_EQ(network::kDefaultDelayedCloseTimeout, connection().delayed_close_timeout_);
}

TEST_F(ConnectionManagerImplTest, ADelayedCloseTimeoutIsLoggedByName) {
  connection().close_reason_ = "delayed_close_timeout";
  connection().raiseEvent(network::ConnectionEvent::kLocalClose);
  EXPECT_EQ(std::vector<std::string>{"info timeout delayed_close_timeout (5s) fired: listener web "
                                     "client 127.0.0.1:5555"},
            logger_.lines_);
}

// request_body_min_rate: 100 bytes/s over 10 s windows.
class BodyMinRateTest : public ConnectionManagerImplTest {
 protected:
  BodyMinRateTest()
      : ConnectionManagerImplTest([](ConnectionManagerConfig& config) {
          config.request_body_min_bytes_per_second = 100;
          config.request_body_min_rate_window = std::chrono::seconds(10);
          config.delayed_close_timeout = std::chrono::seconds(2);
        }) {}
  // Made on the first request with a body, after the timeout timer.
  event::MockTimer& rateTimer() { return *dispatcher().timers().at(1); }
};

TEST_F(BodyMinRateTest, SetsItsDelayedCloseTimeoutOnTheConnection) {
  EXPECT_EQ(std::chrono::seconds(2), connection().delayed_close_timeout_);
}

TEST_F(BodyMinRateTest, ABodyBelowTheRateGets408AndIsLoggedByName) {
  auto_respond_ = false;
  receive("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789");
  ASSERT_TRUE(rateTimer().enabled_);
  EXPECT_EQ(std::chrono::seconds(10), rateTimer().duration_);
  receive(std::string(500, 'a'));  // 510 bytes in the window, 1000 needed
  rateTimer().invokeCallback();
  EXPECT_THAT(connection().written_, HasSubstr("HTTP/1.1 408"));
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
  EXPECT_EQ(std::vector<std::string>{"info timeout request_body_min_rate (10s) fired: listener "
                                     "web client 127.0.0.1:5555"},
            logger_.lines_);
  ASSERT_EQ(1u, access_log_->requests_.size());
  EXPECT_EQ(RequestFailure::kRequestBodyMinRate, access_log_->requests_[0].info.failure);
  EXPECT_EQ(408, access_log_->requests_[0].info.response_code);
}

TEST_F(BodyMinRateTest, ABodyAtTheRateGoesOnWindowAfterWindow) {
  auto_respond_ = false;
  receive("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
  for (int window = 0; window < 3; ++window) {
    receive(std::string(1000, 'a'));
    rateTimer().invokeCallback();
    EXPECT_TRUE(rateTimer().enabled_);
  }
  EXPECT_EQ(network::ConnectionState::kOpen, connection().state_);
  EXPECT_TRUE(logger_.lines_.empty());
}

TEST_F(BodyMinRateTest, AWindowWhileTheUpstreamPausedReadingDoesNotCount) {
  auto_respond_ = false;
  receive("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
  terminal_->decoder_callbacks_->readDisableDownstream(true);
  rateTimer().invokeCallback();
  EXPECT_EQ(network::ConnectionState::kOpen, connection().state_);
  terminal_->decoder_callbacks_->readDisableDownstream(false);
  rateTimer().invokeCallback();  // paused during part of this window too
  EXPECT_EQ(network::ConnectionState::kOpen, connection().state_);
  rateTimer().invokeCallback();  // a whole window with nothing: the client's doing
  EXPECT_THAT(connection().written_, HasSubstr("HTTP/1.1 408"));
}

TEST_F(BodyMinRateTest, AfterTheResponseStartedTheConnectionIsCut) {
  auto_respond_ = false;
  receive("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
  auto headers = std::make_unique<ResponseHeaderMap>();
  headers->setStatus(200);
  headers->add("content-length", "100");
  terminal_->decoder_callbacks_->encodeHeaders(std::move(headers), false);
  EXPECT_CALL(connection(), close(network::ConnectionCloseType::kNoFlush, "request_body_min_rate"));
  rateTimer().invokeCallback();
  EXPECT_EQ(network::ConnectionState::kClosed, connection().state_);
  EXPECT_THAT(connection().written_, testing::Not(HasSubstr("408")));
  ASSERT_EQ(1u, access_log_->requests_.size());
  EXPECT_EQ(RequestFailure::kRequestBodyMinRate, access_log_->requests_[0].info.failure);
}

TEST_F(BodyMinRateTest, WaitingForContinueIsNotSlowness) {
  auto_respond_ = false;
  receive(
      "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
      "Expect: 100-continue\r\n\r\n");
  rateTimer().invokeCallback();
  EXPECT_EQ(network::ConnectionState::kOpen, connection().state_);
  auto interim = std::make_unique<ResponseHeaderMap>();
  interim->setStatus(100);
  terminal_->decoder_callbacks_->encode1xxHeaders(std::move(interim));
  rateTimer().invokeCallback();  // told to send, and did not
  EXPECT_THAT(connection().written_, HasSubstr("HTTP/1.1 408"));
}

TEST_F(BodyMinRateTest, ARequestWithoutBodyArmsNothing) {
  receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(connection().written_, HasSubstr("HTTP/1.1 200"));
  EXPECT_EQ(1u, dispatcher().timers().size());  // the timeout timer only
}

TEST_F(ConnectionManagerImplTest, NoRateTimerWhenTheMinimumIsOff) {
  receive("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_THAT(connection().written_, HasSubstr("got it"));
  EXPECT_EQ(1u, dispatcher().timers().size());
}

}  // namespace
}  // namespace proxy::http
