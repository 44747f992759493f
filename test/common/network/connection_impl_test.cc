#include "common/network/connection_impl.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

#include "common/event/dispatcher_impl.h"
#include "common/network/raw_transport_socket.h"
#include "common/network/socket_util.h"
#include "test/mocks/network/mocks.h"

using std::chrono::milliseconds;
using testing::_;
using testing::NiceMock;

namespace proxy::network {
namespace {

// A read filter that keeps what it is given.
class RecordingFilter : public ReadFilter {
 public:
  void initializeReadFilterCallbacks(ReadFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  FilterStatus onNewConnection() override { return FilterStatus::kContinue; }
  FilterStatus onData(buffer::Instance& data, bool end_stream) override {
    received_ += data.toString();
    data.drain(data.length());
    end_stream_ = end_stream;
    return FilterStatus::kContinue;
  }
  ReadFilterCallbacks* callbacks_ = nullptr;
  std::string received_;
  bool end_stream_ = false;
};

class ConnectionImplTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds_));
    connection_ =
        std::make_unique<ConnectionImpl>(dispatcher_, fds_[0], Address(), Address(), true);
    filter_ = std::make_shared<RecordingFilter>();
    connection_->addReadFilter(filter_);
    connection_->addConnectionCallbacks(callbacks_);
    connection_->initializeReadFilters();
  }
  void TearDown() override {
    if (fds_[1] >= 0) {
      ::close(fds_[1]);
    }
  }

  // Runs the loop until `done` or a 5 s deadline.
  bool runUntil(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      dispatcher_.runOnce(milliseconds(10));
    }
    return true;
  }

  std::string readPeer() {
    std::string out;
    char chunk[65536];
    ssize_t n;
    while ((n = ::read(fds_[1], chunk, sizeof(chunk))) > 0) {
      out.append(chunk, static_cast<size_t>(n));
    }
    return out;
  }

  event::DispatcherImpl dispatcher_{"test"};
  int fds_[2] = {-1, -1};
  std::unique_ptr<ConnectionImpl> connection_;
  std::shared_ptr<RecordingFilter> filter_;
  NiceMock<MockConnectionCallbacks> callbacks_;
};

TEST_F(ConnectionImplTest, ReadFiltersSeeIncomingBytes) {
  ASSERT_EQ(5, ::write(fds_[1], "hello", 5));
  EXPECT_TRUE(runUntil([&] { return filter_->received_ == "hello"; }));
  EXPECT_EQ(5u, connection_->info().bytes_received);
}

TEST_F(ConnectionImplTest, WritesAreCoalescedAndSent) {
  buffer::OwnedBuffer a;
  buffer::OwnedBuffer b;
  a.add("one ");
  b.add("two");
  connection_->write(a, false);
  connection_->write(b, false);
  EXPECT_EQ("", readPeer());  // nothing sent inside the call stack
  dispatcher_.runOnce(milliseconds(0));
  EXPECT_EQ("one two", readPeer());
  EXPECT_EQ(7u, connection_->info().bytes_sent);
}

TEST_F(ConnectionImplTest, PeerFinClosesWithoutHalfClose) {
  EXPECT_CALL(callbacks_, onEvent(ConnectionEvent::kRemoteClose));
  ASSERT_EQ(4, ::write(fds_[1], "last", 4));
  ::shutdown(fds_[1], SHUT_WR);
  EXPECT_TRUE(runUntil([&] { return connection_->state() == ConnectionState::kClosed; }));
  EXPECT_EQ("last", filter_->received_);
}

TEST_F(ConnectionImplTest, HalfCloseKeepsTheWriteSideOpen) {
  connection_->enableHalfClose(true);
  ::shutdown(fds_[1], SHUT_WR);
  EXPECT_TRUE(runUntil([&] { return filter_->end_stream_; }));
  EXPECT_EQ(ConnectionState::kOpen, connection_->state());
  buffer::OwnedBuffer reply;
  reply.add("after fin");
  EXPECT_CALL(callbacks_, onEvent(ConnectionEvent::kLocalClose));
  connection_->write(reply, true);
  EXPECT_TRUE(runUntil([&] { return connection_->state() == ConnectionState::kClosed; }));
  EXPECT_EQ("after fin", readPeer());
  char byte;
  EXPECT_EQ(0, ::read(fds_[1], &byte, 1));  // our FIN arrived
}

TEST_F(ConnectionImplTest, WatermarksFollowAPeerThatDoesNotRead) {
  connection_->setBufferLimits(64 * 1024);
  testing::InSequence sequence;
  EXPECT_CALL(callbacks_, onAboveWriteBufferHighWatermark());
  EXPECT_CALL(callbacks_, onBelowWriteBufferLowWatermark());
  std::string chunk(256 * 1024, 'z');
  buffer::OwnedBuffer data;
  data.add(chunk);
  connection_->write(data, false);
  EXPECT_TRUE(connection_->aboveHighWatermark());
  dispatcher_.runOnce(milliseconds(0));
  EXPECT_TRUE(connection_->aboveHighWatermark());  // the peer is not reading
  size_t received = 0;
  EXPECT_TRUE(runUntil([&] {
    received += readPeer().size();
    return !connection_->aboveHighWatermark();
  }));
  EXPECT_TRUE(runUntil([&] {
    received += readPeer().size();
    return received == chunk.size();
  }));
}

TEST_F(ConnectionImplTest, ReadDisableHoldsBytesUntilEnabled) {
  connection_->readDisable(true);
  ASSERT_EQ(3, ::write(fds_[1], "abc", 3));
  for (int i = 0; i < 5; ++i) {
    dispatcher_.runOnce(milliseconds(5));
  }
  EXPECT_EQ("", filter_->received_);
  connection_->readDisable(false);
  EXPECT_TRUE(runUntil([&] { return filter_->received_ == "abc"; }));
}

TEST_F(ConnectionImplTest, CloseWithFlushSendsQueuedBytesFirst) {
  buffer::OwnedBuffer data;
  data.add("bye");
  connection_->write(data, false);
  connection_->close(ConnectionCloseType::kFlushWrite, "test");
  EXPECT_TRUE(runUntil([&] { return connection_->state() == ConnectionState::kClosed; }));
  EXPECT_EQ("bye", readPeer());
  EXPECT_EQ("test", connection_->closeReason());
}

// Fills the peer's socket buffers and `bytes` more in the write buffer: a peer that never
// reads.
void queueMoreThanThePeerTakes(ConnectionImpl& connection, event::DispatcherImpl& dispatcher,
                               size_t bytes) {
  std::string chunk(bytes, 'q');
  buffer::OwnedBuffer data;
  data.add(chunk);
  connection.write(data, false);
  dispatcher.runOnce(milliseconds(0));
}

TEST_F(ConnectionImplTest, CloseWithFlushToAPeerThatNeverReadsEndsAfterTheDelayedCloseTimeout) {
  connection_->setDelayedCloseTimeout(milliseconds(100));
  queueMoreThanThePeerTakes(*connection_, dispatcher_, 8 * 1024 * 1024);
  connection_->close(ConnectionCloseType::kFlushWrite, "connection_close");
  EXPECT_EQ(ConnectionState::kClosing, connection_->state());
  EXPECT_CALL(callbacks_, onEvent(ConnectionEvent::kLocalClose));
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(runUntil([&] { return connection_->state() == ConnectionState::kClosed; }));
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(90));
  EXPECT_EQ("delayed_close_timeout", connection_->closeReason());
  EXPECT_EQ(FailureCause::kDelayedCloseTimeout, connection_->info().failure);
}

TEST_F(ConnectionImplTest, DelayedCloseTimeoutKeepsAFailureAlreadyRecorded) {
  connection_->setDelayedCloseTimeout(milliseconds(50));
  connection_->info().failure = FailureCause::kUpstreamReset;
  queueMoreThanThePeerTakes(*connection_, dispatcher_, 8 * 1024 * 1024);
  connection_->close(ConnectionCloseType::kFlushWrite, "upstream_closed");
  EXPECT_TRUE(runUntil([&] { return connection_->state() == ConnectionState::kClosed; }));
  EXPECT_EQ("delayed_close_timeout", connection_->closeReason());
  EXPECT_EQ(FailureCause::kUpstreamReset, connection_->info().failure);
}

TEST_F(ConnectionImplTest, ZeroDelayedCloseTimeoutWaitsForTheFlush) {
  connection_->setDelayedCloseTimeout(milliseconds(0));
  queueMoreThanThePeerTakes(*connection_, dispatcher_, 1024 * 1024);
  connection_->close(ConnectionCloseType::kFlushWrite, "connection_close");
  for (int i = 0; i < 20; ++i) {
    dispatcher_.runOnce(milliseconds(10));
  }
  EXPECT_EQ(ConnectionState::kClosing, connection_->state());
  // Once the peer reads, the flush ends and the close is an ordinary one.
  EXPECT_TRUE(runUntil([&] {
    readPeer();
    return connection_->state() == ConnectionState::kClosed;
  }));
  EXPECT_EQ("connection_close", connection_->closeReason());
  EXPECT_EQ(FailureCause::kNone, connection_->info().failure);
}

TEST_F(ConnectionImplTest, AFlushThatCompletesInTimeIsNotCutShort) {
  connection_->setDelayedCloseTimeout(milliseconds(200));
  buffer::OwnedBuffer data;
  data.add("bye");
  connection_->write(data, false);
  connection_->close(ConnectionCloseType::kFlushWrite, "test");
  EXPECT_TRUE(runUntil([&] { return connection_->state() == ConnectionState::kClosed; }));
  EXPECT_EQ("bye", readPeer());
  EXPECT_EQ("test", connection_->closeReason());
  EXPECT_EQ(FailureCause::kNone, connection_->info().failure);
  // The disarmed timer does not fire later.
  for (int i = 0; i < 30; ++i) {
    dispatcher_.runOnce(milliseconds(10));
  }
  EXPECT_EQ("test", connection_->closeReason());
}

TEST_F(ConnectionImplTest, AnIdleConnectionHoldsNoColdStateUntilItCloses) {
  // Bytes came and went, a reply was sent: nothing rarely needed was allocated.
  ASSERT_EQ(2, ::write(fds_[1], "hi", 2));
  EXPECT_TRUE(runUntil([&] { return filter_->received_ == "hi"; }));
  buffer::OwnedBuffer reply;
  reply.add("ok");
  connection_->write(reply, false);
  dispatcher_.runOnce(milliseconds(0));
  EXPECT_EQ("ok", readPeer());
  EXPECT_FALSE(connection_->hasColdState());
  EXPECT_EQ("", connection_->closeReason());
  EXPECT_EQ(0u, connection_->spliceTransfers());
  EXPECT_EQ(0u, connection_->splicePipeBytes());
  // The first reason given sticks; a later one does not replace it.
  connection_->close(ConnectionCloseType::kFlushWrite, "first");
  connection_->close(ConnectionCloseType::kNoFlush, "second");
  EXPECT_TRUE(connection_->hasColdState());
  EXPECT_EQ("first", connection_->closeReason());
}

TEST_F(ConnectionImplTest, CallbacksBeyondTheInlineOnesAreAllToldInOrder) {
  // Two callbacks are held inline (the fixture's is the first); more go to a vector.
  std::vector<int> order;
  testing::NiceMock<MockConnectionCallbacks> second, third, fourth;
  int index = 1;
  for (MockConnectionCallbacks* callbacks : {&second, &third, &fourth}) {
    connection_->addConnectionCallbacks(*callbacks);
    int mine = ++index;
    EXPECT_CALL(*callbacks, onEvent(ConnectionEvent::kLocalClose)).WillOnce([&order, mine](auto) {
      order.push_back(mine);
    });
  }
  EXPECT_CALL(callbacks_, onEvent(ConnectionEvent::kLocalClose)).WillOnce([&order](auto) {
    order.push_back(1);
  });
  connection_->close(ConnectionCloseType::kNoFlush, "done");
  EXPECT_EQ((std::vector<int>{1, 2, 3, 4}), order);
}

TEST_F(ConnectionImplTest, TooManyConnectionCallbacksIsAnErrorNotAWrap) {
  // The count is a byte (it shares a word with the flags): the 256th is refused.
  std::vector<std::unique_ptr<testing::NiceMock<MockConnectionCallbacks>>> more;
  for (int i = 1; i < 255; ++i) {  // the fixture added the first
    more.push_back(std::make_unique<testing::NiceMock<MockConnectionCallbacks>>());
    connection_->addConnectionCallbacks(*more.back());
  }
  testing::NiceMock<MockConnectionCallbacks> one_too_many;
  EXPECT_THROW(connection_->addConnectionCallbacks(one_too_many), std::length_error);
  // The 255 registered are all still told.
  int told = 0;
  for (auto& callbacks : more) {
    EXPECT_CALL(*callbacks, onEvent(ConnectionEvent::kLocalClose)).WillOnce([&told](auto) {
      ++told;
    });
  }
  EXPECT_CALL(one_too_many, onEvent(_)).Times(0);
  connection_->close(ConnectionCloseType::kNoFlush, "done");
  EXPECT_EQ(254, told);
}

TEST_F(ConnectionImplTest, ReadFilterStopIterationHoldsLaterFilters) {
  // A second connection with a stopping filter in front of a recording one.
  int fds[2];
  ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds));
  ConnectionImpl connection(dispatcher_, fds[0], Address(), Address(), true);
  auto stopper = std::make_shared<NiceMock<MockReadFilter>>();
  ON_CALL(*stopper, onNewConnection()).WillByDefault(testing::Return(FilterStatus::kStopIteration));
  auto recorder = std::make_shared<RecordingFilter>();
  connection.addReadFilter(stopper);
  connection.addReadFilter(recorder);
  connection.initializeReadFilters();
  ASSERT_EQ(2, ::write(fds[1], "hi", 2));
  bool stopped = false;
  EXPECT_CALL(*stopper, onData(_, false)).WillOnce([&](buffer::Instance&, bool) {
    stopped = true;
    return FilterStatus::kStopIteration;
  });
  EXPECT_TRUE(runUntil([&] { return stopped; }));
  EXPECT_EQ("", recorder->received_);
  // Resuming runs the next filter's onNewConnection() and shows it the held bytes.
  stopper->callbacks_->continueReading();
  EXPECT_EQ("hi", recorder->received_);
  ::close(fds[1]);
}

TEST(ClientConnectionImplTest, RefusedConnectIsReportedFromTheLoop) {
  event::DispatcherImpl dispatcher("test");
  // A port that was just free: bind, read the port, close.
  ListenSocket probe = createListenSocket("127.0.0.1", 0);
  Address address = probe.address;
  ::close(probe.fd);

  auto connection = dispatcher.createClientConnection(address);
  NiceMock<MockConnectionCallbacks> callbacks;
  connection->addConnectionCallbacks(callbacks);
  bool failed = false;
  EXPECT_CALL(callbacks, onEvent(ConnectionEvent::kConnectFailed)).WillOnce([&] { failed = true; });
  connection->connect();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!failed && std::chrono::steady_clock::now() < deadline) {
    dispatcher.runOnce(milliseconds(10));
  }
  EXPECT_TRUE(failed);
  EXPECT_EQ(ECONNREFUSED, connection->failureErrno());
}

TEST(ClientConnectionImplTest, ConnectsAndExchangesBytes) {
  event::DispatcherImpl dispatcher("test");
  ListenSocket listener = createListenSocket("127.0.0.1", 0);
  auto connection = dispatcher.createClientConnection(listener.address);
  NiceMock<MockConnectionCallbacks> callbacks;
  connection->addConnectionCallbacks(callbacks);
  bool connected = false;
  EXPECT_CALL(callbacks, onEvent(ConnectionEvent::kConnected)).WillOnce([&] { connected = true; });
  buffer::OwnedBuffer early;
  early.add("sent while connecting");
  connection->connect();
  connection->write(early, false);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!connected && std::chrono::steady_clock::now() < deadline) {
    dispatcher.runOnce(milliseconds(10));
  }
  ASSERT_TRUE(connected);
  dispatcher.runOnce(milliseconds(10));
  int accepted = ::accept(listener.fd, nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  // Both ends have Nagle off: ours set it, the accepted one inherits it from the listener.
  int nodelay = 0;
  socklen_t len = sizeof(nodelay);
  ASSERT_EQ(0, getsockopt(accepted, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len));
  EXPECT_EQ(1, nodelay);
  char text[64] = {0};
  ssize_t n = ::recv(accepted, text, sizeof(text), 0);
  EXPECT_EQ("sent while connecting", std::string(text, n > 0 ? static_cast<size_t>(n) : 0));
  EXPECT_TRUE(connection->localAddress().valid());
  ::close(accepted);
  ::close(listener.fd);
}

}  // namespace
}  // namespace proxy::network

namespace proxy::network {
namespace {

// Plain TCP reads counted, and optionally claiming that a short read proves nothing (as
// TLS does).
class CountingTransportSocket : public TransportSocket {
 public:
  CountingTransportSocket(int* reads, bool short_read_drains, std::vector<size_t>* offered)
      : reads_(reads), short_read_drains_(short_read_drains), offered_(offered) {}
  void setFd(int fd) override { raw_.setFd(fd); }
  HandshakeStatus handshake() override { return raw_.handshake(); }
  const std::string& failureReason() const override { return raw_.failureReason(); }
  IoResult read(void* data, size_t size) override {
    ++*reads_;
    offered_->push_back(size);
    return raw_.read(data, size);
  }
  IoResult writev(const iovec* iov, int count) override { return raw_.writev(iov, count); }
  void shutdownWrite() override { raw_.shutdownWrite(); }
  void onClose(bool graceful) override { raw_.onClose(graceful); }
  bool hasBufferedReadData() const override { return false; }
  bool shortReadDrainsSocket() const override { return short_read_drains_; }

 private:
  RawTransportSocket raw_;
  int* reads_;
  bool short_read_drains_;
  std::vector<size_t>* offered_;  // the space each read(2) was given
};

class ShortReadTest : public ConnectionImplTest {
 protected:
  void useCountingTransport(bool short_read_drains) {
    connection_.reset();
    ::close(fds_[1]);
    ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds_));
    connection_ = std::make_unique<ConnectionImpl>(
        dispatcher_, fds_[0], Address(), Address(), true,
        std::make_unique<CountingTransportSocket>(&reads_, short_read_drains, &offered_));
    filter_ = std::make_shared<RecordingFilter>();
    connection_->addReadFilter(filter_);
    connection_->addConnectionCallbacks(callbacks_);
    connection_->initializeReadFilters();
  }
  int reads_ = 0;
  std::vector<size_t> offered_;
};

TEST_F(ShortReadTest, ShortReadOnPlainTcpSkipsTheReadThatWouldSayEagain) {
  useCountingTransport(true);
  ASSERT_EQ(5, ::write(fds_[1], "hello", 5));
  EXPECT_TRUE(runUntil([&] { return filter_->received_ == "hello"; }));
  EXPECT_EQ(1, reads_);  // one read(2) per request, not two
  ASSERT_EQ(6, ::write(fds_[1], " again", 6));
  EXPECT_TRUE(runUntil([&] { return filter_->received_ == "hello again"; }));
  EXPECT_EQ(2, reads_);  // the next bytes raised a new edge
}

TEST_F(ShortReadTest, ReadsGrowToBulkSizeOnlyAfterAFullRead) {
  useCountingTransport(true);
  ASSERT_EQ(5, ::write(fds_[1], "hello", 5));
  EXPECT_TRUE(runUntil([&] { return filter_->received_ == "hello"; }));
  ASSERT_EQ(1u, offered_.size());
  EXPECT_EQ(buffer::OwnedBuffer::kSliceSize, offered_[0]) << "a small read takes one slice";

  // A burst larger than one slice: after the first read fills its slice, the next ones
  // are offered 64 KiB, so a bulk transfer costs a quarter of the calls.
  offered_.clear();
  const std::string burst(100 * 1024, 'b');
  size_t sent = 0;
  EXPECT_TRUE(runUntil([&] {
    while (sent < burst.size()) {
      ssize_t n = ::write(fds_[1], burst.data() + sent, burst.size() - sent);
      if (n <= 0) {
        break;
      }
      sent += static_cast<size_t>(n);
    }
    return filter_->received_.size() == 5 + burst.size();
  }));
  ASSERT_GE(offered_.size(), 2u);
  EXPECT_LE(offered_[0], buffer::OwnedBuffer::kSliceSize);
  EXPECT_EQ(64u * 1024, *std::max_element(offered_.begin(), offered_.end()));
}

TEST_F(ShortReadTest, TransportThatBuffersReadsOnToEagain) {
  useCountingTransport(false);
  ASSERT_EQ(5, ::write(fds_[1], "hello", 5));
  EXPECT_TRUE(runUntil([&] { return filter_->received_ == "hello"; }));
  EXPECT_EQ(2, reads_);
}

TEST_F(ShortReadTest, FinQueuedBehindTheBytesIsStillSeen) {
  // Bytes and FIN before the first event: the event reports the hang-up, so the reads go
  // on past the short one to the end of the stream.
  useCountingTransport(true);
  EXPECT_CALL(callbacks_, onEvent(ConnectionEvent::kRemoteClose));
  ASSERT_EQ(4, ::write(fds_[1], "last", 4));
  ::shutdown(fds_[1], SHUT_WR);
  EXPECT_TRUE(runUntil([&] { return connection_->state() == ConnectionState::kClosed; }));
  EXPECT_EQ("last", filter_->received_);
}

}  // namespace
}  // namespace proxy::network
