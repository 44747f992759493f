#include "common/network/connection_impl.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/network/raw_transport_socket.h"

namespace proxy::network {
namespace {

// Ids are unique per process without a shared atomic per connection: each thread takes a
// tag once and numbers its own connections.
uint64_t nextConnectionId() {
  static std::atomic<uint64_t> next_thread_tag{0};
  thread_local uint64_t thread_tag = next_thread_tag.fetch_add(1, std::memory_order_relaxed);
  thread_local uint64_t counter = 0;
  return (++counter << 8) | (thread_tag & 0xff);
}

// The most bytes read in one readiness event before yielding to other connections.
constexpr size_t kMaxReadPerEvent = 256 * 1024;
constexpr size_t kBulkReadSize = 64 * 1024;
constexpr int kMaxIovecs = 64;

}  // namespace

ConnectionImpl::ConnectionImpl(event::Dispatcher& dispatcher, int fd, const Address& remote,
                               const Address& local, bool connected,
                               TransportSocketPtr transport_socket)
    : dispatcher_(dispatcher),
      remote_address_(remote),
      local_address_(local),
      connecting_(!connected),
      fd_(fd),
      owned_transport_socket_(std::move(transport_socket)),
      id_(nextConnectionId()),
      filter_manager_(*this, *this) {
  info_.start_time = dispatcher_.approximateMonotonicTime();
  if (fd_ >= 0) {
    registerSocket();
  }
}

void ConnectionImpl::registerSocket() {
  if (plainTcp()) {
    short_read_drains_ = true;  // RawTransportSocket::shortReadDrainsSocket()
  } else {
    owned_transport_socket_->setFd(fd_);
    short_read_drains_ = owned_transport_socket_->shortReadDrainsSocket();
  }
  // Edge-triggered read and write interest for the whole life of the connection: no
  // epoll_ctl per request.
  file_event_ = dispatcher_.createFileEvent(
      fd_, [this](uint32_t events) { onFileEvent(events); }, event::FileTriggerType::kEdge,
      event::FileReadyType::kRead | event::FileReadyType::kWrite);
}

ConnectionImpl::~ConnectionImpl() {
  if (fd_ >= 0) {
    file_event_.reset();
    ::close(fd_);
  }
}

void ConnectionImpl::addReadFilter(ReadFilterSharedPtr filter) {
  filter_manager_.addReadFilter(std::move(filter));
}
void ConnectionImpl::addWriteFilter(WriteFilterSharedPtr filter) {
  filter_manager_.addWriteFilter(std::move(filter));
}
void ConnectionImpl::addFilter(FilterSharedPtr filter) {
  filter_manager_.addFilter(std::move(filter));
}

void ConnectionImpl::addConnectionCallbacks(ConnectionCallbacks& callbacks) {
  if (callback_count_ == kMaxCallbacks) {
    throw std::length_error("ConnectionImpl: more than 255 connection callbacks");
  }
  if (callback_count_ < kInlineCallbacks) {
    inline_callbacks_[callback_count_] = &callbacks;
  } else {
    if (more_callbacks_ == nullptr) {
      more_callbacks_ = std::make_unique<std::vector<ConnectionCallbacks*>>();
    }
    more_callbacks_->push_back(&callbacks);
  }
  ++callback_count_;
}

ConnectionImpl::ColdState& ConnectionImpl::cold() {
  if (cold_ == nullptr) {
    cold_ = std::make_unique<ColdState>();
  }
  return *cold_;
}

const std::string& ConnectionImpl::closeReason() const {
  static const std::string kNoReason;
  return cold_ != nullptr ? cold_->close_reason : kNoReason;
}

void ConnectionImpl::setCloseReason(std::string_view reason) {
  // The first reason given sticks.
  if (!reason.empty() && closeReason().empty()) {
    cold().close_reason = reason;
  }
}

void ConnectionImpl::initializeReadFilters() { filter_manager_.initializeReadFilters(); }

void ConnectionImpl::raiseEvent(ConnectionEvent event) {
  // Index loop: a callback may add callbacks.
  for (size_t i = 0; i < callbackCount(); ++i) {
    callback(i).onEvent(event);
  }
}

void ConnectionImpl::write(buffer::Instance& data, bool end_stream) {
  if (state_ != ConnectionState::kOpen || write_end_pending_) {
    data.drain(data.length());
    return;
  }
  if (!filter_manager_.onWrite(data, end_stream)) {
    return;
  }
  info_.bytes_sent += data.length();
  write_buffer_.move(data);
  if (end_stream) {
    write_end_pending_ = true;
  }
  if (buffer_limit_ > 0 && !above_high_watermark_ && write_buffer_.length() > buffer_limit_) {
    above_high_watermark_ = true;
    for (size_t i = 0; i < callbackCount(); ++i) {
      callback(i).onAboveWriteBufferHighWatermark();
    }
  }
  // Sent at the end of this loop iteration, so several writes made while handling one
  // event go out in one writev.
  if (!connecting_ && file_event_) {
    file_event_->activate(event::FileReadyType::kWrite);
  }
}

void ConnectionImpl::readDisable(bool disable) {
  if (state_ != ConnectionState::kOpen) {
    return;
  }
  if (disable) {
    if (read_disable_count_++ == 0 && file_event_ && !connecting_) {
      file_event_->setEnabled(event::FileReadyType::kWrite);
    }
    return;
  }
  if (read_disable_count_ == 0) {
    return;
  }
  if (--read_disable_count_ == 0 && file_event_ && !connecting_) {
    // Re-registering re-checks readiness, so bytes that arrived while reading was off are
    // reported again; bytes already in the read buffer go to the filters now.
    file_event_->setEnabled(event::FileReadyType::kRead | event::FileReadyType::kWrite);
    if (read_buffer_.length() > 0 ||
        (!plainTcp() && owned_transport_socket_->hasBufferedReadData())) {
      redeliver_read_buffer_ = true;
      file_event_->activate(event::FileReadyType::kRead);
    }
  }
}

void ConnectionImpl::startDrain() {
  if (draining_ || state_ != ConnectionState::kOpen) {
    return;
  }
  draining_ = true;
  filter_manager_.onDrain();
}

void ConnectionImpl::close(ConnectionCloseType type, std::string_view reason) {
  if (state_ == ConnectionState::kClosed) {
    return;
  }
  setCloseReason(reason);
  bool nothing_queued = write_buffer_.length() == 0 && splicePipeBytes() == 0;
  if (type == ConnectionCloseType::kNoFlush || nothing_queued || connecting_) {
    closeSocket(ConnectionEvent::kLocalClose, reason);
    return;
  }
  // Send what is queued first; reading stops, so nothing more reaches the filters.
  state_ = ConnectionState::kClosing;
  closing_after_flush_ = true;
  if (delayed_close_timeout_ms_ > 0) {
    // A peer that never reads would otherwise hold the connection and its buffers forever.
    ColdState& state = cold();
    state.delayed_close_timer = dispatcher_.createTimer([this] { onDelayedCloseTimeout(); });
    state.delayed_close_timer->enableTimer(std::chrono::milliseconds(delayed_close_timeout_ms_));
  }
  if (file_event_) {
    // Read readiness stays registered (an epoll_ctl per close saved): onFileEvent ignores
    // it once the connection is closing.
    file_event_->activate(event::FileReadyType::kWrite);
  }
}

void ConnectionImpl::setDelayedCloseTimeout(std::chrono::milliseconds timeout) {
  delayed_close_timeout_ms_ =
      static_cast<uint32_t>(std::clamp<int64_t>(timeout.count(), 0, UINT32_MAX));
}

void ConnectionImpl::onDelayedCloseTimeout() {
  if (state_ == ConnectionState::kClosed) {
    return;
  }
  // The reason given to close() is replaced: filters tell this ending by its reason.
  cold().close_reason = "delayed_close_timeout";
  if (info_.failure == FailureCause::kNone) {
    info_.failure = FailureCause::kDelayedCloseTimeout;
  }
  closeSocket(ConnectionEvent::kLocalClose, "delayed_close_timeout");
}

void ConnectionImpl::closeSocket(ConnectionEvent event, std::string_view reason) {
  if (state_ == ConnectionState::kClosed) {
    return;
  }
  setCloseReason(reason);
  state_ = ConnectionState::kClosed;
  if (cold_ != nullptr && cold_->delayed_close_timer != nullptr) {
    cold_->delayed_close_timer->disableTimer();
  }
  if (file_event_ != nullptr && fd_ >= 0) {
    file_event_->descriptorClosing();  // close() below unregisters it: no EPOLL_CTL_DEL
  }
  file_event_.reset();
  unlinkSplice();
  if (fd_ >= 0) {
    if (!plainTcp()) {
      owned_transport_socket_->onClose(event == ConnectionEvent::kLocalClose && !socket_failed_);
    }
    ::close(fd_);
    fd_ = -1;
  }
  // Release the memory now: the object itself may live until the deferred delete.
  read_buffer_.drain(read_buffer_.length());
  write_buffer_.drain(write_buffer_.length());
  raiseEvent(event);
}

void ConnectionImpl::onFileEvent(uint32_t events) {
  if (events & event::FileReadyType::kClosed) {
    // From now on every read goes on to EOF or EAGAIN: the FIN may already be queued
    // behind the bytes, and no later edge would announce it. Noted even while connecting:
    // a peer may send and close before our connect completion is handled.
    peer_hangup_seen_ = true;
  }
  if (connecting_) {
    onConnectResult();
    return;
  }
  if (splicing_) {
    onSpliceEvent(events);
    return;
  }
  if ((events & event::FileReadyType::kClosed) && !(events & event::FileReadyType::kRead)) {
    // An error or hang-up with nothing left to read: find out which through a read.
    events |= event::FileReadyType::kRead;
  }
  if (events & event::FileReadyType::kWrite) {
    onWriteReady();
  }
  if (state_ == ConnectionState::kOpen && (events & event::FileReadyType::kRead)) {
    onReadReady();
  }
}

void ConnectionImpl::onReadReady() {
  if (read_disable_count_ > 0) {
    return;
  }
  bool deliver = redeliver_read_buffer_;
  redeliver_read_buffer_ = false;
  if (!read_end_stream_) {
    size_t total = 0;
    size_t want = 4096;
    while (total < kMaxReadPerEvent) {
      iovec space = read_buffer_.reserve(want);
      IoResult result = transportRead(space.iov_base, space.iov_len);
      if (result.status == IoResult::Status::kOk) {
        read_buffer_.commit(result.bytes);
        total += result.bytes;
        if (result.bytes == space.iov_len) {
          // A bulk transfer: larger reads mean fewer calls and fewer window updates, each
          // of which makes the kernel push the sender's queued segments on our time.
          want = kBulkReadSize;
        }
        if (result.bytes < space.iov_len && short_read_drains_ && !peer_hangup_seen_) {
          // Drained: the read that would say EAGAIN costs a syscall per event and tells
          // nothing a later edge would not.
          break;
        }
        continue;
      }
      read_buffer_.commit(0);
      if (result.status == IoResult::Status::kEndOfStream) {
        read_end_stream_ = true;
        break;
      }
      if (result.status == IoResult::Status::kAgain) {
        break;
      }
      info_.bytes_received += total;
      if (read_buffer_.length() > 0) {
        // Bytes read before the error are the peer's: delivered first, as before a FIN (a
        // TLS peer that closes without close_notify after a whole response is common).
        filter_manager_.onRead();
        if (state_ != ConnectionState::kOpen) {
          return;
        }
      }
      socket_failed_ = true;
      closeSocket(ConnectionEvent::kRemoteClose, result.error);
      return;
    }
    info_.bytes_received += total;
    if (total >= kMaxReadPerEvent) {
      // Edge-triggered: more may be waiting and no new edge will say so. Come back to it
      // after the other ready connections have had their turn.
      file_event_->activate(event::FileReadyType::kRead);
    }
    deliver = deliver || total > 0 || read_end_stream_;
  }
  if (read_end_stream_ && !half_close_enabled_) {
    // The peer's FIN closes the connection; bytes that came with it are still delivered.
    if (read_buffer_.length() > 0) {
      read_end_stream_ = false;
      filter_manager_.onRead();
      read_end_stream_ = true;
    }
    closeSocket(ConnectionEvent::kRemoteClose, "remote_close");
    return;
  }
  if (deliver) {
    filter_manager_.onRead();
  }
  if (state_ == ConnectionState::kOpen && read_end_stream_ && write_end_sent_ &&
      write_buffer_.length() == 0) {
    closeSocket(ConnectionEvent::kRemoteClose, "remote_close");
  }
}

void ConnectionImpl::onWriteReady() {
  if (write_buffer_.length() == 0 && !write_end_pending_ && !closing_after_flush_) {
    return;
  }
  flushWriteBuffer();
}

bool ConnectionImpl::writeBufferedBytes() {
  while (write_buffer_.length() > 0) {
    iovec iov[kMaxIovecs];
    int count = write_buffer_.fillIovec(iov, kMaxIovecs);
    IoResult result = transportWritev(iov, count);
    if (result.status == IoResult::Status::kOk) {
      write_buffer_.drain(result.bytes);
      continue;
    }
    if (result.status == IoResult::Status::kAgain) {
      break;  // the next write-ready edge resumes
    }
    socket_failed_ = true;
    closeSocket(ConnectionEvent::kRemoteClose, result.error);
    return false;
  }
  updateWatermarksAfterWrite();
  return state_ != ConnectionState::kClosed;
}

bool ConnectionImpl::flushWriteBuffer() {
  if (!writeBufferedBytes()) {
    return false;
  }
  if (write_buffer_.length() > 0) {
    return true;
  }
  if (closing_after_flush_) {
    closeSocket(ConnectionEvent::kLocalClose, closeReason());
    return false;
  }
  if (write_end_pending_ && !write_end_sent_) {
    if (plainTcp()) {
      ::shutdown(fd_, SHUT_WR);  // RawTransportSocket::shutdownWrite()
    } else {
      owned_transport_socket_->shutdownWrite();
    }
    write_end_sent_ = true;
    if (read_end_stream_) {
      closeSocket(ConnectionEvent::kLocalClose, "local_close");
      return false;
    }
  }
  return true;
}

void ConnectionImpl::updateWatermarksAfterWrite() {
  if (above_high_watermark_ && write_buffer_.length() <= buffer_limit_ / 2) {
    above_high_watermark_ = false;
    for (size_t i = 0; i < callbackCount() && state_ != ConnectionState::kClosed; ++i) {
      callback(i).onBelowWriteBufferLowWatermark();
    }
  }
}

bool ConnectionImpl::canSplice() const {
  // Bytes still queued for writing are fine: they go out before the pipe's (see
  // drainSplicePipe). Unread bytes in the read buffer are not: they would be skipped.
  return state_ == ConnectionState::kOpen && !connecting_ && fd_ >= 0 && !splicing_ &&
         half_close_enabled_ && plainTcp() && read_buffer_.length() == 0 && !read_end_stream_ &&
         !write_end_pending_ && !closing_after_flush_;
}

bool ConnectionImpl::startSplice(Connection& peer_connection, SpliceCallbacks& callbacks) {
  auto* peer = dynamic_cast<ConnectionImpl*>(&peer_connection);
  if (peer == nullptr || peer == this || &peer->dispatcher_ != &dispatcher_ || !canSplice() ||
      !peer->canSplice()) {
    return false;
  }
  std::unique_ptr<SplicePipe> toward_this = SplicePipe::create();
  std::unique_ptr<SplicePipe> toward_peer = SplicePipe::create();
  if (toward_this == nullptr || toward_peer == nullptr) {
    return false;  // out of descriptors: copying still works
  }
  ColdState& mine = cold();
  ColdState& theirs = peer->cold();
  mine.splice_pipe = std::move(toward_this);
  theirs.splice_pipe = std::move(toward_peer);
  mine.splice_peer = peer;
  theirs.splice_peer = this;
  mine.splice_callbacks = &callbacks;
  theirs.splice_callbacks = &callbacks;
  splicing_ = true;
  peer->splicing_ = true;
  // Bytes may be waiting whose readiness edge has passed: look once.
  for (ConnectionImpl* side : {this, peer}) {
    if (side->file_event_ != nullptr) {
      side->file_event_->activate(event::FileReadyType::kRead);
    }
  }
  return true;
}

uint64_t ConnectionImpl::spliceTransfers() const {
  if (cold_ == nullptr) {
    return 0;
  }
  return cold_->splice_transfers_out +
         (cold_->splice_pipe != nullptr ? cold_->splice_pipe->transfers() : 0);
}

void ConnectionImpl::onSpliceEvent(uint32_t events) {
  if ((events & event::FileReadyType::kClosed) && !(events & event::FileReadyType::kRead)) {
    events |= event::FileReadyType::kRead;  // find out which through a read, as onFileEvent
  }
  if (events & event::FileReadyType::kWrite) {
    // With the pipe empty, the usual write path finishes a pending FIN or close.
    if (!drainSplicePipe() || state_ == ConnectionState::kClosed) {
      return;
    }
    onWriteReady();
  }
  if (state_ == ConnectionState::kOpen && (events & event::FileReadyType::kRead)) {
    spliceRead();
  }
}

void ConnectionImpl::spliceRead() {
  ColdState& splice = *cold_;  // splicing: allocated by startSplice
  ConnectionImpl* peer = splice.splice_peer;
  if (read_disable_count_ > 0 || read_end_stream_ || peer == nullptr ||
      peer->state_ != ConnectionState::kOpen || peer->write_end_pending_) {
    return;
  }
  SplicePipe& pipe = *peer->cold_->splice_pipe;
  size_t total = 0;
  while (true) {
    if (pipe.bytes() > 0) {
      bool drained = peer->drainSplicePipe();
      if (state_ != ConnectionState::kOpen || splice.splice_peer != peer) {
        return;  // the peer failed, and closing it closed this side or unlinked it
      }
      if (!drained) {
        // The pipe is this direction's buffer and it is full: read on once the peer's
        // socket took some.
        peer->cold_->splice_source_waiting = true;
        break;
      }
    }
    if (total >= kMaxReadPerEvent) {
      // Edge-triggered: come back after the other ready connections had their turn.
      file_event_->activate(event::FileReadyType::kRead);
      break;
    }
    IoResult result = pipe.fillFrom(fd_);
    if (result.status == IoResult::Status::kOk) {
      total += result.bytes;
      ++splice.splice_transfers_out;
      info_.bytes_received += result.bytes;
      info_.bytes_spliced += result.bytes;
      peer->info_.bytes_sent += result.bytes;
      peer->info_.bytes_spliced += result.bytes;
      continue;
    }
    if (result.status == IoResult::Status::kAgain) {
      break;
    }
    if (result.status == IoResult::Status::kEndOfStream) {
      read_end_stream_ = true;
      break;
    }
    socket_failed_ = true;
    closeSocket(ConnectionEvent::kRemoteClose, result.error);
    return;
  }
  if (total > 0 && splice.splice_callbacks != nullptr) {
    splice.splice_callbacks->onSpliceActivity();
    if (state_ != ConnectionState::kOpen || splice.splice_peer != peer) {
      return;
    }
  }
  if (read_end_stream_) {
    // The FIN follows the bytes: the peer shuts its write side once its pipe is empty.
    peer->write_end_pending_ = true;
    if (peer->file_event_ != nullptr) {
      peer->file_event_->activate(event::FileReadyType::kWrite);
    }
    if (write_end_sent_) {
      closeSocket(ConnectionEvent::kRemoteClose, "remote_close");  // both ways finished
    }
  }
}

bool ConnectionImpl::drainSplicePipe() {
  if (write_buffer_.length() > 0) {
    // Written before the splice began, so they go first; the pipe waits behind them.
    if (!writeBufferedBytes() || write_buffer_.length() > 0) {
      return false;
    }
  }
  if (cold_ == nullptr || cold_->splice_pipe == nullptr) {
    return true;
  }
  ColdState& splice = *cold_;
  while (splice.splice_pipe->bytes() > 0) {
    IoResult result = splice.splice_pipe->drainTo(fd_);
    if (result.status == IoResult::Status::kOk) {
      continue;
    }
    if (result.status == IoResult::Status::kError) {
      socket_failed_ = true;
      closeSocket(ConnectionEvent::kRemoteClose, result.error);
    }
    return false;  // kAgain: the next write-ready edge resumes
  }
  if (splice.splice_source_waiting) {
    splice.splice_source_waiting = false;
    if (splice.splice_peer != nullptr && splice.splice_peer->file_event_ != nullptr) {
      splice.splice_peer->file_event_->activate(event::FileReadyType::kRead);
    }
  }
  return true;
}

void ConnectionImpl::unlinkSplice() {
  if (cold_ == nullptr) {
    return;  // never spliced
  }
  ColdState& splice = *cold_;
  if (splice.splice_peer != nullptr) {
    splice.splice_peer->cold_->splice_peer = nullptr;
    splice.splice_peer->cold_->splice_callbacks = nullptr;
    splice.splice_peer = nullptr;
  }
  splice.splice_callbacks = nullptr;
  splice.splice_pipe.reset();
}

ClientConnectionImpl::ClientConnectionImpl(event::Dispatcher& dispatcher, const Address& address,
                                           TransportSocketPtr transport_socket)
    : ConnectionImpl(dispatcher, -1, address, Address(), false, std::move(transport_socket)) {}

void ClientConnectionImpl::connect() {
  int error = 0;
  if (!remote_address_.valid()) {
    error = EADDRNOTAVAIL;
  } else {
    fd_ = ::socket(remote_address_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      error = errno;
    } else {
      // Accepted sockets inherit TCP_NODELAY from their listener; ours set it here.
      int one = 1;
      setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      if (::connect(fd_, remote_address_.sockAddr(), remote_address_.sockAddrLen()) != 0 &&
          errno != EINPROGRESS) {
        error = errno;
      }
    }
  }
  if (fd_ >= 0) {
    // Registered only now: an unconnected socket polls as writable and hung up, which would
    // look like a finished connect. Completion, or failure, shows up as write readiness.
    registerSocket();
  }
  if (error != 0) {
    // Reported from the loop, never from inside connect(): the caller is not ready for
    // callbacks yet.
    pending_error_ = error;
    failure_timer_ = dispatcher_.createTimer([this] { onConnectResult(); });
    failure_timer_->enableTimer(std::chrono::milliseconds(0));
  }
}

void ClientConnectionImpl::onConnectResult() {
  if (handshaking_) {
    continueHandshake();
    return;
  }
  int error = pending_error_;
  if (error == 0) {
    socklen_t len = sizeof(error);
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len) != 0) {
      error = errno;
    }
  }
  if (error != 0) {
    failConnect(error);
    return;
  }
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &local_len) == 0) {
    local_address_ = Address(reinterpret_cast<sockaddr*>(&local), local_len);
  }
  handshaking_ = true;
  continueHandshake();
}

void ClientConnectionImpl::continueHandshake() {
  switch (plainTcp() ? HandshakeStatus::kDone : ownedTransportSocket()->handshake()) {
    case HandshakeStatus::kAgain:
      return;  // the socket's next readiness edge brings us back
    case HandshakeStatus::kFailed:
      if (state() == ConnectionState::kClosed) {
        return;
      }
      failure_reason_ = ownedTransportSocket()->failureReason();  // only TLS fails
      transport_failure_ = true;
      handshaking_ = false;
      connecting_ = false;
      socket_failed_ = true;  // no goodbye on a connection that never was
      closeSocket(ConnectionEvent::kConnectFailed, "transport_handshake_failed");
      return;
    case HandshakeStatus::kDone:
      break;
  }
  handshaking_ = false;
  connecting_ = false;
  raiseEvent(ConnectionEvent::kConnected);
  // Anything written while connecting goes out now, and bytes the handshake read ahead
  // are delivered.
  if (state() == ConnectionState::kOpen && file_event_) {
    file_event_->activate(event::FileReadyType::kWrite | event::FileReadyType::kRead);
  }
}

void ClientConnectionImpl::failConnect(int error) {
  if (state() == ConnectionState::kClosed) {
    return;
  }
  failure_errno_ = error;
  failure_reason_ = std::strerror(error);
  connecting_ = false;
  closeSocket(ConnectionEvent::kConnectFailed, "connect_failed");
}

}  // namespace proxy::network
