#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <functional>
#include <string>

#include "common/event/dispatcher_impl.h"
#include "common/network/connection_impl.h"
#include "common/network/socket_util.h"
#include "common/tls/client_tls_context.h"
#include "test/mocks/network/mocks.h"
#include "test/support/test_pki.h"
#include "test/support/tls_test_server.h"

using std::chrono::milliseconds;
using testing::HasSubstr;
using testing::NiceMock;

namespace proxy::tls {
namespace {

using network::ConnectionEvent;

// Keeps what the connection reads; may stop reading after the first bytes.
class Recorder : public network::ReadFilter {
 public:
  void initializeReadFilterCallbacks(network::ReadFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  network::FilterStatus onNewConnection() override { return network::FilterStatus::kContinue; }
  network::FilterStatus onData(buffer::Instance& data, bool) override {
    received_ += data.toString();
    data.drain(data.length());
    if (disable_after_first_ && !disabled_) {
      disabled_ = true;
      callbacks_->connection().readDisable(true);
    }
    return network::FilterStatus::kContinue;
  }

  network::ReadFilterCallbacks* callbacks_ = nullptr;
  std::string received_;
  bool disable_after_first_ = false;
  bool disabled_ = false;
};

// A ClientConnectionImpl with a TLS transport socket against TlsTestServer, both run by one
// DispatcherImpl in the test thread.
class TlsClientConnectionTest : public testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }

  void TearDown() override {
    if (connection_ != nullptr && connection_->state() != network::ConnectionState::kClosed) {
      connection_->close(network::ConnectionCloseType::kNoFlush, "test_end");
    }
    connection_.reset();
    server_.reset();
    if (server_ctx_ != nullptr) {
      SSL_CTX_free(server_ctx_);
    }
  }

  void startServer(const TestPki::Leaf& leaf) {
    server_ctx_ = TestPki::serverContext(leaf);
    server_ = std::make_unique<TlsTestServer>(dispatcher_, server_ctx_);
  }

  // Connects to the server with a context trusting `pki` (or `options`), for `host`.
  void connect(ClientTlsOptions options, const std::string& host = "localhost") {
    context_ = std::make_shared<ClientTlsContext>(std::move(options));
    connection_ = dispatcher_.createClientConnection(server_->address(),
                                                     context_->createTransportSocket(host));
    recorder_ = std::make_shared<Recorder>();
    connection_->addReadFilter(recorder_);
    connection_->addConnectionCallbacks(callbacks_);
    ON_CALL(callbacks_, onEvent(testing::_)).WillByDefault([this](ConnectionEvent event) {
      events_.push_back(event);
    });
    connection_->initializeReadFilters();
    connection_->connect();
  }

  ClientTlsOptions trusting(const TestPki& pki) {
    ClientTlsOptions options;
    options.ca_file = pki.caFile();
    return options;
  }

  bool runUntil(const std::function<bool()>& done, milliseconds limit = milliseconds(5000)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      dispatcher_.runOnce(milliseconds(10));
    }
    return true;
  }

  bool saw(ConnectionEvent event) const {
    return std::find(events_.begin(), events_.end(), event) != events_.end();
  }

  void write(const std::string& data, bool end_stream = false) {
    buffer::OwnedBuffer buffer;
    buffer.add(data);
    connection_->write(buffer, end_stream);
  }

  event::DispatcherImpl dispatcher_{"test"};
  TestPki pki_;
  SSL_CTX* server_ctx_ = nullptr;
  std::unique_ptr<TlsTestServer> server_;
  std::shared_ptr<ClientTlsContext> context_;
  network::ClientConnectionPtr connection_;
  std::shared_ptr<Recorder> recorder_;
  NiceMock<network::MockConnectionCallbacks> callbacks_;
  std::vector<ConnectionEvent> events_;
};

TEST_F(TlsClientConnectionTest, BytesWrittenWhileConnectingGoOutEncryptedAfterTheHandshake) {
  startServer(pki_.issue("localhost", {"localhost"}, {"127.0.0.1"}));
  connect(trusting(pki_));
  write("GET / HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(runUntil([&] { return recorder_->received_.size() >= 18; }));
  EXPECT_TRUE(saw(ConnectionEvent::kConnected));
  EXPECT_EQ("GET / HTTP/1.1\r\n\r\n", server_->received_);
  EXPECT_EQ("GET / HTTP/1.1\r\n\r\n", recorder_->received_);  // echoed
  EXPECT_EQ("localhost", server_->sni_);
  EXPECT_FALSE(connection_->transportFailure());
}

TEST_F(TlsClientConnectionTest, ConnectedIsRaisedOnlyOnceTheHandshakeIsDone) {
  // A TCP listener that accepts but never answers the ClientHello.
  network::ListenSocket silent = network::createListenSocket("127.0.0.1", 0);
  context_ = std::make_shared<ClientTlsContext>(trusting(pki_));
  connection_ = dispatcher_.createClientConnection(silent.address,
                                                   context_->createTransportSocket("localhost"));
  connection_->addConnectionCallbacks(callbacks_);
  ON_CALL(callbacks_, onEvent(testing::_)).WillByDefault([this](ConnectionEvent event) {
    events_.push_back(event);
  });
  connection_->connect();
  int accepted = -1;
  ASSERT_TRUE(runUntil([&] {
    accepted = ::accept4(silent.fd, nullptr, nullptr, SOCK_NONBLOCK);
    return accepted >= 0;
  }));
  runUntil([] { return false; }, milliseconds(300));
  EXPECT_TRUE(events_.empty());  // TCP is up; TLS is not
  char hello[5];
  EXPECT_EQ(5, ::recv(accepted, hello, sizeof(hello), 0));
  EXPECT_EQ(0x16, hello[0]);  // a TLS handshake record: the ClientHello
  ::close(accepted);
  ::close(silent.fd);
  ASSERT_TRUE(runUntil([&] { return !events_.empty(); }));
  EXPECT_EQ(ConnectionEvent::kConnectFailed, events_.front());
  EXPECT_TRUE(connection_->transportFailure());
}

TEST_F(TlsClientConnectionTest, UntrustedServerFailsTheConnectAndNeverGetsTheBytes) {
  TestPki other("Other CA");
  startServer(other.issue("localhost", {"localhost"}));
  connect(trusting(pki_));
  write("secret request");
  ASSERT_TRUE(runUntil([&] { return !events_.empty(); }));
  EXPECT_EQ(std::vector<ConnectionEvent>{ConnectionEvent::kConnectFailed}, events_);
  EXPECT_TRUE(connection_->transportFailure());
  EXPECT_EQ(0, connection_->failureErrno());
  EXPECT_THAT(connection_->failureReason(), HasSubstr("certificate verify failed"));
  runUntil([&] { return server_->handshake_failed_; }, milliseconds(1000));
  EXPECT_FALSE(server_->handshake_done_);
  EXPECT_EQ("", server_->received_);
}

TEST_F(TlsClientConnectionTest, PlainServerFailsTheConnect) {
  server_ = std::make_unique<TlsTestServer>(dispatcher_, nullptr);
  connect(trusting(pki_));
  ASSERT_TRUE(runUntil([&] { return !events_.empty(); }));
  EXPECT_EQ(ConnectionEvent::kConnectFailed, events_.front());
  EXPECT_TRUE(connection_->transportFailure());
  EXPECT_THAT(connection_->failureReason(), HasSubstr("tls handshake failed"));
}

TEST_F(TlsClientConnectionTest, LargeTransferIsByteExactBothWays) {
  startServer(pki_.issue("localhost", {"localhost"}));
  connect(trusting(pki_));
  std::string data(8 * 1024 * 1024, '\0');
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<char>((i * 7919) % 253);
  }
  connection_->setBufferLimits(1024 * 1024);
  write(data);
  ASSERT_TRUE(
      runUntil([&] { return recorder_->received_.size() >= data.size(); }, milliseconds(20000)));
  EXPECT_EQ(data.size(), server_->received_.size());
  EXPECT_TRUE(server_->received_ == data);
  EXPECT_TRUE(recorder_->received_ == data);
}

TEST_F(TlsClientConnectionTest, ResumedReadingDeliversBytesHeldInsideTls) {
  startServer(pki_.issue("localhost", {"localhost"}));
  server_->echo_ = false;
  connect(trusting(pki_));
  recorder_->disable_after_first_ = true;
  ASSERT_TRUE(runUntil([&] { return saw(ConnectionEvent::kConnected); }));
  const std::string data(600 * 1024 + 123, 'z');
  server_->send(data);
  ASSERT_TRUE(runUntil([&] { return recorder_->disabled_; }));
  runUntil([] { return false; }, milliseconds(200));
  const size_t before = recorder_->received_.size();
  EXPECT_LT(before, data.size());
  connection_->readDisable(false);
  ASSERT_TRUE(runUntil([&] { return recorder_->received_.size() == data.size(); }))
      << recorder_->received_.size() << " of " << data.size();
}

TEST_F(TlsClientConnectionTest, LocalCloseSendsCloseNotifyAfterTheQueuedBytes) {
  startServer(pki_.issue("localhost", {"localhost"}));
  server_->echo_ = false;
  connect(trusting(pki_));
  ASSERT_TRUE(runUntil([&] { return saw(ConnectionEvent::kConnected); }));
  write("bye");
  connection_->close(network::ConnectionCloseType::kFlushWrite, "done");
  ASSERT_TRUE(runUntil([&] { return server_->eof_; }));
  EXPECT_EQ("bye", server_->received_);
  EXPECT_TRUE(server_->close_notify_received_);
}

TEST_F(TlsClientConnectionTest, ServerCloseNotifyIsARemoteCloseAfterTheData) {
  startServer(pki_.issue("localhost", {"localhost"}));
  server_->echo_ = false;
  connect(trusting(pki_));
  ASSERT_TRUE(runUntil([&] { return saw(ConnectionEvent::kConnected); }));
  server_->send("final words");
  server_->closeNotify();
  ASSERT_TRUE(runUntil([&] { return saw(ConnectionEvent::kRemoteClose); }));
  EXPECT_EQ("final words", recorder_->received_);
  EXPECT_EQ("remote_close", connection_->closeReason());
}

// A FIN without close_notify: what came before it is delivered, and the close says it was
// not clean, so a response read until the close is known to be cut.
TEST_F(TlsClientConnectionTest, ServerFinWithoutCloseNotifyDeliversTheDataThenSaysUnexpectedEof) {
  startServer(pki_.issue("localhost", {"localhost"}));
  server_->echo_ = false;
  connect(trusting(pki_));
  ASSERT_TRUE(runUntil([&] { return saw(ConnectionEvent::kConnected); }));
  server_->send("last words");
  server_->finWithoutCloseNotify();
  ASSERT_TRUE(runUntil([&] { return saw(ConnectionEvent::kRemoteClose); }));
  EXPECT_EQ("last words", recorder_->received_);
  EXPECT_EQ("unexpected_eof", connection_->closeReason());
}

}  // namespace
}  // namespace proxy::tls
