#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <functional>
#include <random>

#include "common/buffer/buffer_impl.h"
#include "common/event/dispatcher_impl.h"
#include "common/network/connection_impl.h"
#include "common/network/splice_pipe.h"
#include "test/mocks/network/mocks.h"

using std::chrono::milliseconds;
using testing::NiceMock;

namespace proxy::network {
namespace {

// Counts what a splice reports.
class CountingSpliceCallbacks : public SpliceCallbacks {
 public:
  void onSpliceActivity() override { ++activity_; }
  int activity_ = 0;
};

// Two connected non-blocking TCP sockets on loopback: [0] is the outside end, [1] the one a
// ConnectionImpl takes.
void loopbackPair(int fds[2]) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(0, ::bind(listener, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)));
  ASSERT_EQ(0, ::listen(listener, 1));
  socklen_t len = sizeof(sin);
  ASSERT_EQ(0, ::getsockname(listener, reinterpret_cast<sockaddr*>(&sin), &len));
  fds[0] = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(fds[0], 0);
  ::connect(fds[0], reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
  fds[1] = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  ASSERT_GE(fds[1], 0);
  ::close(listener);
}

std::string randomBytes(size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::string out(size, '\0');
  for (char& c : out) {
    c = static_cast<char>(generator());
  }
  return out;
}

// client <-> downstream_ ==splice== upstream_ <-> server, as tcp_proxy wires them.
class SpliceTest : public testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // as the server does: a write to a reset socket is EPIPE
    int down[2];
    int up[2];
    loopbackPair(down);
    loopbackPair(up);
    client_ = down[0];
    server_ = up[0];
    downstream_ =
        std::make_unique<ConnectionImpl>(dispatcher_, down[1], Address(), Address(), true);
    upstream_ = std::make_unique<ConnectionImpl>(dispatcher_, up[1], Address(), Address(), true);
    downstream_->addConnectionCallbacks(downstream_events_);
    upstream_->addConnectionCallbacks(upstream_events_);
    downstream_->enableHalfClose(true);
    upstream_->enableHalfClose(true);
  }
  void TearDown() override {
    for (int fd : {client_, server_}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }

  void start() { ASSERT_TRUE(downstream_->startSplice(*upstream_, activity_)); }

  // Runs the loop until `done` or a 10 s deadline.
  bool runUntil(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      dispatcher_.runOnce(milliseconds(1));
    }
    return true;
  }

  // Appends what `fd` has to `out`; true once it read the end of the stream.
  static bool drain(int fd, std::string& out) {
    char chunk[65536];
    while (true) {
      ssize_t n = ::read(fd, chunk, sizeof(chunk));
      if (n > 0) {
        out.append(chunk, static_cast<size_t>(n));
        continue;
      }
      return n == 0;
    }
  }

  // Writes as much of `payload` past `sent` as `fd` takes now, advancing `sent`.
  static void sendSome(int fd, const std::string& payload, size_t& sent) {
    while (sent < payload.size()) {
      ssize_t n = ::write(fd, payload.data() + sent, payload.size() - sent);
      if (n <= 0) {
        return;
      }
      sent += static_cast<size_t>(n);
    }
  }

  // Sends `payload` into `from` while reading `to`, until `to` got `expected` bytes (by
  // default the payload's size).
  std::string transfer(int from, int to, const std::string& payload, size_t expected = 0) {
    expected = expected == 0 ? payload.size() : expected;
    size_t sent = 0;
    std::string received;
    runUntil([&] {
      sendSome(from, payload, sent);
      drain(to, received);
      return received.size() >= expected;
    });
    return received;
  }

  event::DispatcherImpl dispatcher_{"test"};
  int client_ = -1;
  int server_ = -1;
  std::unique_ptr<ConnectionImpl> downstream_;
  std::unique_ptr<ConnectionImpl> upstream_;
  NiceMock<MockConnectionCallbacks> downstream_events_;
  NiceMock<MockConnectionCallbacks> upstream_events_;
  CountingSpliceCallbacks activity_;
};

TEST_F(SpliceTest, BytesArriveExactBothWaysThroughSplice) {
  start();
  const std::string request = randomBytes(4 << 20, 1);
  const std::string response = randomBytes(3 << 20, 2);
  EXPECT_TRUE(transfer(client_, server_, request) == request);
  EXPECT_TRUE(transfer(server_, client_, response) == response);

  const ConnectionInfo& down = downstream_->info();
  EXPECT_EQ(request.size(), down.bytes_received);
  EXPECT_EQ(response.size(), down.bytes_sent);
  EXPECT_EQ(request.size() + response.size(), down.bytes_spliced);
  EXPECT_EQ(request.size(), upstream_->info().bytes_sent);
  EXPECT_EQ(response.size(), upstream_->info().bytes_received);
  EXPECT_EQ(request.size() + response.size(), upstream_->info().bytes_spliced);
  // The bytes went by splice(2): the connections' own buffers never held any.
  EXPECT_GT(downstream_->spliceTransfers(), 0u);
  EXPECT_GT(upstream_->spliceTransfers(), 0u);
  EXPECT_GT(activity_.activity_, 0);
  EXPECT_EQ(ConnectionState::kOpen, downstream_->state());
  EXPECT_EQ(ConnectionState::kOpen, upstream_->state());
}

TEST_F(SpliceTest, BytesQueuedBeforeTheSpliceGoOutFirst) {
  // tcp_proxy starts splicing after copying some bytes, which may still be queued toward
  // the peer: they must reach it before any spliced byte. 8 MiB fills the socket, so part
  // of it waits in the write buffer while the client's bytes already fill the pipe.
  const std::string queued = randomBytes(8 << 20, 11);
  const std::string spliced = randomBytes(4 << 20, 12);
  buffer::OwnedBuffer data;
  data.add(queued);
  upstream_->write(data, false);
  start();
  std::string received = transfer(client_, server_, spliced, queued.size() + spliced.size());
  ASSERT_EQ(queued.size() + spliced.size(), received.size());
  EXPECT_TRUE(received.compare(0, queued.size(), queued) == 0) << "queued bytes first";
  EXPECT_TRUE(received.compare(queued.size(), spliced.size(), spliced) == 0);
  EXPECT_GT(downstream_->info().bytes_spliced, 0u);
}

TEST_F(SpliceTest, QueuedBytesAndThenTheFinLeaveInOrder) {
  buffer::OwnedBuffer data;
  data.add("queued;");
  upstream_->write(data, false);
  start();
  ASSERT_EQ(7, ::write(client_, "spliced", 7));
  ::shutdown(client_, SHUT_WR);
  std::string received;
  ASSERT_TRUE(runUntil([&] { return drain(server_, received); }));
  EXPECT_EQ("queued;spliced", received);
}

TEST_F(SpliceTest, BytesWaitingUnreadAreSplicedOnceReadingResumes) {
  downstream_->readDisable(true);  // as tcp_proxy holds the client until the upstream is up
  ASSERT_EQ(5, ::write(client_, "early", 5));
  dispatcher_.runOnce(milliseconds(10));  // the readiness edge passes
  start();
  downstream_->readDisable(false);
  std::string at_server;
  EXPECT_TRUE(runUntil([&] {
    drain(server_, at_server);
    return at_server.size() >= 5;
  }));
  EXPECT_EQ("early", at_server);
  EXPECT_EQ(5u, downstream_->info().bytes_spliced);
}

TEST_F(SpliceTest, BytesAlreadyInTheReadBufferPreventSplicing) {
  ASSERT_EQ(5, ::write(client_, "early", 5));
  runUntil([&] { return downstream_->info().bytes_received == 5; });
  // No filter took them: they sit in the read buffer, which a splice would skip.
  EXPECT_FALSE(downstream_->startSplice(*upstream_, activity_));
  EXPECT_FALSE(downstream_->splicing());
}

TEST_F(SpliceTest, ClientHalfCloseReachesServerThenServerReplies) {
  start();
  ASSERT_EQ(5, ::write(client_, "hello", 5));
  ::shutdown(client_, SHUT_WR);
  std::string at_server;
  EXPECT_TRUE(runUntil([&] { return drain(server_, at_server); }));
  EXPECT_EQ("hello", at_server);
  EXPECT_EQ(ConnectionState::kOpen, downstream_->state());  // still writable toward the client

  EXPECT_CALL(upstream_events_, onEvent(ConnectionEvent::kRemoteClose));
  ASSERT_EQ(3, ::write(server_, "bye", 3));
  ::shutdown(server_, SHUT_WR);
  std::string at_client;
  EXPECT_TRUE(runUntil([&] { return drain(client_, at_client); }));
  EXPECT_EQ("bye", at_client);
  // The upstream read its FIN after sending one: both of its ways are finished.
  EXPECT_TRUE(runUntil([&] { return upstream_->state() == ConnectionState::kClosed; }));
  EXPECT_EQ("remote_close", upstream_->closeReason());
}

TEST_F(SpliceTest, ServerHalfCloseReachesClientWhoKeepsSending) {
  start();
  ASSERT_EQ(4, ::write(server_, "done", 4));
  ::shutdown(server_, SHUT_WR);
  std::string at_client;
  EXPECT_TRUE(runUntil([&] { return drain(client_, at_client); }));
  EXPECT_EQ("done", at_client);
  const std::string more = randomBytes(1 << 20, 3);
  EXPECT_TRUE(transfer(client_, server_, more) == more);
  ::shutdown(client_, SHUT_WR);
  EXPECT_CALL(downstream_events_, onEvent(ConnectionEvent::kRemoteClose));
  EXPECT_TRUE(runUntil([&] { return downstream_->state() == ConnectionState::kClosed; }));
  std::string rest;
  EXPECT_TRUE(runUntil([&] { return drain(server_, rest); }));  // the FIN got through
  EXPECT_EQ("", rest);
}

TEST_F(SpliceTest, ClientResetClosesDownstreamAsReset) {
  start();
  EXPECT_CALL(downstream_events_, onEvent(ConnectionEvent::kRemoteClose));
  linger hard{1, 0};
  ASSERT_EQ(0, setsockopt(client_, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard)));
  ::close(client_);
  client_ = -1;
  EXPECT_TRUE(runUntil([&] { return downstream_->state() == ConnectionState::kClosed; }));
  EXPECT_EQ("connection_reset", downstream_->closeReason());
  // The upstream no longer splices into a closed connection: its bytes go nowhere, and it
  // stays for its owner to close.
  ASSERT_EQ(4, ::write(server_, "late", 4));
  dispatcher_.runOnce(milliseconds(10));
  EXPECT_EQ(ConnectionState::kOpen, upstream_->state());
}

TEST_F(SpliceTest, ServerResetWhileSendingClosesUpstreamAsReset) {
  start();
  EXPECT_CALL(upstream_events_, onEvent(ConnectionEvent::kRemoteClose));
  linger hard{1, 0};
  ASSERT_EQ(0, setsockopt(server_, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard)));
  ::close(server_);
  server_ = -1;
  const std::string payload = randomBytes(256 << 10, 4);
  ASSERT_GT(::write(client_, payload.data(), payload.size()), 0);
  EXPECT_TRUE(runUntil([&] { return upstream_->state() == ConnectionState::kClosed; }));
  EXPECT_EQ("connection_reset", upstream_->closeReason());
}

TEST_F(SpliceTest, ServerThatDoesNotReadStopsClientReadingWithThePipeBounded) {
  int small = 64 * 1024;
  setsockopt(server_, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  start();
  const std::string payload = randomBytes(32 << 20, 5);
  size_t sent = 0;
  // Send until neither the client's socket nor the proxy takes more.
  uint64_t last_received = 0;
  int quiet_rounds = 0;
  while (quiet_rounds < 20) {
    ssize_t n = ::write(client_, payload.data() + sent, payload.size() - sent);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    }
    dispatcher_.runOnce(milliseconds(5));
    uint64_t received = downstream_->info().bytes_received;
    quiet_rounds = received == last_received && n <= 0 ? quiet_rounds + 1 : 0;
    last_received = received;
    ASSERT_LT(sent, payload.size()) << "the proxy read everything: no backpressure";
  }
  // What the proxy holds is at most one pipe's capacity.
  EXPECT_GT(upstream_->splicePipeBytes(), 0u);
  EXPECT_LE(upstream_->splicePipeBytes(), 1024u * 1024u);
  EXPECT_LT(downstream_->info().bytes_received, sent);  // the rest waits in the client's socket
  EXPECT_LT(downstream_->info().bytes_received, 16u << 20);

  // The server reads again: everything arrives, in order.
  std::string received;
  runUntil([&] {
    while (sent < payload.size()) {
      ssize_t n = ::write(client_, payload.data() + sent, payload.size() - sent);
      if (n <= 0) {
        break;
      }
      sent += static_cast<size_t>(n);
    }
    drain(server_, received);
    return received.size() >= payload.size();
  });
  EXPECT_TRUE(received == payload);
  EXPECT_EQ(payload.size(), downstream_->info().bytes_spliced);
}

TEST_F(SpliceTest, GracefulCloseFlushesWhatThePipeHolds) {
  int small = 64 * 1024;
  setsockopt(server_, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  start();
  const std::string payload = randomBytes(8 << 20, 6);
  size_t sent = 0;
  for (int i = 0; i < 200 && upstream_->splicePipeBytes() == 0; ++i) {
    ssize_t n = ::write(client_, payload.data() + sent, payload.size() - sent);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    }
    dispatcher_.runOnce(milliseconds(5));
  }
  ASSERT_GT(upstream_->splicePipeBytes(), 0u);
  upstream_->close(ConnectionCloseType::kFlushWrite, "downstream_closed");
  EXPECT_EQ(ConnectionState::kClosing, upstream_->state());
  // Everything that entered the pipe reaches the server, then the close.
  std::string received;
  EXPECT_TRUE(runUntil([&] { return drain(server_, received); }));
  EXPECT_EQ(upstream_->info().bytes_sent, received.size());
  EXPECT_TRUE(received == payload.substr(0, received.size()));
  EXPECT_EQ(ConnectionState::kClosed, upstream_->state());
}

TEST_F(SpliceTest, NotStartedWithoutHalfCloseOrOverTls) {
  downstream_->enableHalfClose(false);
  EXPECT_FALSE(downstream_->startSplice(*upstream_, activity_));
  downstream_->enableHalfClose(true);

  int tls_fds[2];
  loopbackPair(tls_fds);
  auto tls = std::make_unique<NiceMock<MockTransportSocket>>();
  ConnectionImpl over_tls(dispatcher_, tls_fds[1], Address(), Address(), true, std::move(tls));
  over_tls.enableHalfClose(true);
  EXPECT_FALSE(downstream_->startSplice(over_tls, activity_));
  EXPECT_FALSE(over_tls.startSplice(*downstream_, activity_));
  EXPECT_FALSE(downstream_->splicing());
  ::close(tls_fds[0]);

  // A connection splices with one peer only.
  start();
  EXPECT_FALSE(upstream_->startSplice(*downstream_, activity_));
}

}  // namespace
}  // namespace proxy::network

namespace proxy::network {
namespace {

TEST(SplicePipeCacheTest, EmptyPipeIsReusedAndAPipeHoldingBytesIsNot) {
  // The per-thread cache: a short spliced connection does not pay pipe2() and two close()
  // calls per direction. A pipe with bytes left in it is never handed to a new connection.
  int first_read_end = -1;
  {
    auto pipe = SplicePipe::create();
    ASSERT_NE(nullptr, pipe);
    first_read_end = pipe->readEndForTest();
  }
  auto reused = SplicePipe::create();
  ASSERT_NE(nullptr, reused);
  EXPECT_EQ(first_read_end, reused->readEndForTest());
  EXPECT_EQ(0u, reused->bytes());

  int fds[2];
  ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds));
  ASSERT_EQ(5, ::write(fds[1], "bytes", 5));
  ASSERT_EQ(IoResult::Status::kOk, reused->fillFrom(fds[0]).status);
  EXPECT_EQ(5u, reused->bytes());
  reused.reset();  // holds bytes: closed, not cached
  auto fresh = SplicePipe::create();
  ASSERT_NE(nullptr, fresh);
  EXPECT_EQ(0u, fresh->bytes());
  char byte;
  EXPECT_EQ(-1, ::read(fresh->readEndForTest(), &byte, 1));  // empty: nothing from before
  EXPECT_EQ(EAGAIN, errno);
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace proxy::network
