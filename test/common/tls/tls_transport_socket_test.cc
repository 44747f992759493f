#include "common/tls/tls_transport_socket.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include "common/tls/client_tls_context.h"
#include "test/support/test_pki.h"

using testing::HasSubstr;

namespace proxy::tls {
namespace {

using network::HandshakeStatus;
using network::IoResult;

// The client socket under test on one end of a socketpair and an OpenSSL server on the other,
// both non-blocking and pumped by the test, so every step is deterministic.
class TlsTransportSocketTest : public testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds_));
  }

  void TearDown() override {
    client_.reset();
    if (server_ != nullptr) {
      SSL_free(server_);
    }
    if (server_ctx_ != nullptr) {
      SSL_CTX_free(server_ctx_);
    }
    for (int fd : fds_) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }

  // The server presents `leaf`; the client is made by a context with `options` for `host`.
  void start(const TestPki::Leaf& leaf, ClientTlsOptions options, const std::string& host) {
    server_ctx_ = TestPki::serverContext(leaf);
    server_ = SSL_new(server_ctx_);
    SSL_set_fd(server_, fds_[1]);
    SSL_set_accept_state(server_);
    context_ = std::make_shared<ClientTlsContext>(std::move(options));
    client_ = context_->createTransportSocket(host);
    client_->setFd(fds_[0]);
  }

  ClientTlsOptions trusting(const TestPki& pki) {
    ClientTlsOptions options;
    options.ca_file = pki.caFile();
    return options;
  }

  // Runs both ends until the client's handshake is decided, then lets the server finish.
  HandshakeStatus handshake() {
    for (int i = 0; i < 50; ++i) {
      HandshakeStatus status = client_->handshake();
      pumpServerHandshake();
      if (status != HandshakeStatus::kAgain) {
        return status;
      }
    }
    return HandshakeStatus::kAgain;
  }

  void pumpServerHandshake() {
    if (!SSL_is_init_finished(server_)) {
      SSL_do_handshake(server_);
      ERR_clear_error();
    }
  }

  std::string serverName() const {
    const char* name = SSL_get_servername(server_, TLSEXT_NAMETYPE_host_name);
    return name != nullptr ? name : "";
  }

  // Everything the server can read now.
  std::string serverRead() {
    std::string out;
    char chunk[16384];
    int n;
    while ((n = SSL_read(server_, chunk, sizeof(chunk))) > 0) {
      out.append(chunk, static_cast<size_t>(n));
    }
    ERR_clear_error();
    return out;
  }

  void serverWrite(const std::string& data) {
    ASSERT_EQ(static_cast<int>(data.size()),
              SSL_write(server_, data.data(), static_cast<int>(data.size())));
  }

  // Reads until the client has `size` bytes or reports something other than data.
  std::string clientRead(size_t size, IoResult* last = nullptr) {
    std::string out;
    char chunk[16384];
    while (out.size() < size) {
      IoResult result = client_->read(chunk, sizeof(chunk));
      if (result.status != IoResult::Status::kOk) {
        if (last != nullptr) {
          *last = result;
        }
        break;
      }
      out.append(chunk, result.bytes);
    }
    return out;
  }

  TestPki pki_;
  int fds_[2] = {-1, -1};
  SSL_CTX* server_ctx_ = nullptr;
  SSL* server_ = nullptr;
  std::shared_ptr<ClientTlsContext> context_;
  network::TransportSocketPtr client_;
};

TEST_F(TlsTransportSocketTest, TrustedServerCompletesTheHandshakeAndGetsTheHostAsSni) {
  start(pki_.issue("localhost", {"localhost"}, {"127.0.0.1"}), trusting(pki_), "localhost");
  ASSERT_EQ(HandshakeStatus::kDone, handshake());
  EXPECT_EQ("localhost", serverName());
  EXPECT_EQ("", client_->failureReason());
}

TEST_F(TlsTransportSocketTest, ApplicationBytesFlowBothWays) {
  start(pki_.issue("localhost", {"localhost"}), trusting(pki_), "localhost");
  ASSERT_EQ(HandshakeStatus::kDone, handshake());
  char hello[] = "hello ";
  char world[] = "world";
  iovec iov[] = {{hello, 6}, {world, 5}};
  IoResult written = client_->writev(iov, 2);
  ASSERT_EQ(IoResult::Status::kOk, written.status);
  EXPECT_EQ(11u, written.bytes);
  EXPECT_EQ("hello world", serverRead());
  serverWrite("reply");
  EXPECT_EQ("reply", clientRead(5));
  // Nothing more: the session tickets the server sent are consumed, not returned.
  char byte;
  EXPECT_EQ(IoResult::Status::kAgain, client_->read(&byte, 1).status);
}

TEST_F(TlsTransportSocketTest, CertificateFromAnotherCaFailsVerification) {
  TestPki other("Other CA");
  start(other.issue("localhost", {"localhost"}), trusting(pki_), "localhost");
  EXPECT_EQ(HandshakeStatus::kFailed, handshake());
  EXPECT_THAT(client_->failureReason(), HasSubstr("certificate verify failed"));
  EXPECT_THAT(client_->failureReason(), HasSubstr("local issuer"));
}

TEST_F(TlsTransportSocketTest, CertificateForAnotherNameFailsVerification) {
  start(pki_.issue("other", {"other.test"}), trusting(pki_), "localhost");
  EXPECT_EQ(HandshakeStatus::kFailed, handshake());
  EXPECT_EQ("certificate verify failed: hostname mismatch", client_->failureReason());
}

TEST_F(TlsTransportSocketTest, WildcardCoversOneLabelOnly) {
  start(pki_.issue("wild", {"*.example.test"}), trusting(pki_), "a.b.example.test");
  EXPECT_EQ(HandshakeStatus::kFailed, handshake());
  EXPECT_THAT(client_->failureReason(), HasSubstr("hostname mismatch"));
}

TEST_F(TlsTransportSocketTest, IpLiteralIsVerifiedAgainstIpNamesAndSendsNoSni) {
  start(pki_.issue("ip", {}, {"127.0.0.1"}), trusting(pki_), "127.0.0.1");
  ASSERT_EQ(HandshakeStatus::kDone, handshake());
  EXPECT_EQ("", serverName());
}

TEST_F(TlsTransportSocketTest, OtherIpFailsVerification) {
  start(pki_.issue("ip", {"localhost"}, {"127.0.0.1"}), trusting(pki_), "127.0.0.2");
  EXPECT_EQ(HandshakeStatus::kFailed, handshake());
  EXPECT_EQ("certificate verify failed: IP address mismatch", client_->failureReason());
}

TEST_F(TlsTransportSocketTest, ConfiguredSniIsSentAndVerifiedInsteadOfTheHost) {
  ClientTlsOptions options = trusting(pki_);
  options.sni = "api.test";
  start(pki_.issue("api", {"api.test"}), options, "127.0.0.1");
  ASSERT_EQ(HandshakeStatus::kDone, handshake());
  EXPECT_EQ("api.test", serverName());
}

TEST_F(TlsTransportSocketTest, VerifyOffAcceptsAnUntrustedCertificate) {
  TestPki other("Other CA");
  ClientTlsOptions options;
  options.verify = false;
  start(other.issue("other", {"other.test"}), options, "localhost");
  EXPECT_EQ(HandshakeStatus::kDone, handshake());
}

TEST_F(TlsTransportSocketTest, PlainTextServerIsAHandshakeFailure) {
  context_ = std::make_shared<ClientTlsContext>(trusting(pki_));
  client_ = context_->createTransportSocket("localhost");
  client_->setFd(fds_[0]);
  EXPECT_EQ(HandshakeStatus::kAgain, client_->handshake());
  const std::string reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
  ASSERT_EQ(static_cast<ssize_t>(reply.size()), ::write(fds_[1], reply.data(), reply.size()));
  EXPECT_EQ(HandshakeStatus::kFailed, client_->handshake());
  EXPECT_THAT(client_->failureReason(), HasSubstr("tls handshake failed: "));
}

TEST_F(TlsTransportSocketTest, PeerClosingDuringTheHandshakeIsAFailure) {
  context_ = std::make_shared<ClientTlsContext>(trusting(pki_));
  client_ = context_->createTransportSocket("localhost");
  client_->setFd(fds_[0]);
  EXPECT_EQ(HandshakeStatus::kAgain, client_->handshake());
  ::close(fds_[1]);
  fds_[1] = -1;
  EXPECT_EQ(HandshakeStatus::kFailed, client_->handshake());
  EXPECT_THAT(client_->failureReason(), HasSubstr("tls handshake failed"));
}

TEST_F(TlsTransportSocketTest, WriteThatWouldBlockIsRetriedWithTheSameBytesFromAnotherBuffer) {
  start(pki_.issue("localhost", {"localhost"}), trusting(pki_), "localhost");
  ASSERT_EQ(HandshakeStatus::kDone, handshake());
  std::string data(3 * 1024 * 1024, '\0');
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<char>((i * 131) % 251);
  }
  std::string received;
  size_t offset = 0;
  int blocked = 0;
  while (offset < data.size()) {
    // A fresh copy each time: the connection's buffer may move between attempts.
    std::string pending = data.substr(offset, 256 * 1024);
    iovec iov{pending.data(), pending.size()};
    IoResult result = client_->writev(&iov, 1);
    ASSERT_NE(IoResult::Status::kError, result.status);
    if (result.status == IoResult::Status::kOk) {
      offset += result.bytes;
    } else {
      ++blocked;
      received += serverRead();
    }
  }
  for (int i = 0; i < 100 && received.size() < data.size(); ++i) {
    received += serverRead();
  }
  EXPECT_GT(blocked, 0);  // the socketpair filled up at least once
  EXPECT_EQ(data.size(), received.size());
  EXPECT_TRUE(data == received);
}

TEST_F(TlsTransportSocketTest, DecryptedBytesHeldInsideAreReported) {
  start(pki_.issue("localhost", {"localhost"}), trusting(pki_), "localhost");
  ASSERT_EQ(HandshakeStatus::kDone, handshake());
  EXPECT_FALSE(client_->hasBufferedReadData());
  serverWrite(std::string(100, 'x'));
  char byte;
  ASSERT_EQ(IoResult::Status::kOk, client_->read(&byte, 1).status);
  // 99 bytes are decrypted inside OpenSSL: the socket itself has nothing left to announce.
  EXPECT_TRUE(client_->hasBufferedReadData());
  EXPECT_EQ(std::string(99, 'x'), clientRead(99));
  EXPECT_FALSE(client_->hasBufferedReadData());
}

TEST_F(TlsTransportSocketTest, CloseNotifyFromTheServerEndsTheStream) {
  start(pki_.issue("localhost", {"localhost"}), trusting(pki_), "localhost");
  ASSERT_EQ(HandshakeStatus::kDone, handshake());
  serverWrite("last");
  SSL_shutdown(server_);
  IoResult last;
  EXPECT_EQ("last", clientRead(100, &last));
  EXPECT_EQ(IoResult::Status::kEndOfStream, last.status);
}

// A FIN without close_notify: the bytes before it are delivered, then an error that says
// so, never the clean end of stream (a truncation must not pass for the end of a response).
TEST_F(TlsTransportSocketTest, BareEofFromTheServerIsAnUnexpectedEof) {
  start(pki_.issue("localhost", {"localhost"}), trusting(pki_), "localhost");
  ASSERT_EQ(HandshakeStatus::kDone, handshake());
  serverWrite("body");
  ::shutdown(fds_[1], SHUT_WR);
  IoResult last;
  EXPECT_EQ("body", clientRead(100, &last));
  EXPECT_EQ(IoResult::Status::kError, last.status);
  EXPECT_EQ("unexpected_eof", last.error);
}

TEST_F(TlsTransportSocketTest, GracefulCloseSendsCloseNotify) {
  start(pki_.issue("localhost", {"localhost"}), trusting(pki_), "localhost");
  ASSERT_EQ(HandshakeStatus::kDone, handshake());
  client_->onClose(true);
  char byte;
  EXPECT_EQ(0, SSL_read(server_, &byte, 1));
  EXPECT_EQ(SSL_ERROR_ZERO_RETURN, SSL_get_error(server_, 0));
}

TEST_F(TlsTransportSocketTest, AbortiveCloseSendsNothing) {
  start(pki_.issue("localhost", {"localhost"}), trusting(pki_), "localhost");
  ASSERT_EQ(HandshakeStatus::kDone, handshake());
  client_->onClose(false);
  char byte;
  int n = SSL_read(server_, &byte, 1);
  EXPECT_EQ(SSL_ERROR_WANT_READ, SSL_get_error(server_, n));
  ERR_clear_error();
}

TEST_F(TlsTransportSocketTest, ShutdownWriteSendsCloseNotifyThenFin) {
  start(pki_.issue("localhost", {"localhost"}), trusting(pki_), "localhost");
  ASSERT_EQ(HandshakeStatus::kDone, handshake());
  client_->shutdownWrite();
  char byte;
  EXPECT_EQ(0, SSL_read(server_, &byte, 1));
  EXPECT_EQ(SSL_ERROR_ZERO_RETURN, SSL_get_error(server_, 0));
  // The server may still answer: the client's read side stays open.
  serverWrite("after");
  EXPECT_EQ("after", clientRead(5));
}

}  // namespace
}  // namespace proxy::tls
