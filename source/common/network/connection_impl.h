#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/event/dispatcher.h"
#include "api/network/connection.h"
#include "api/network/transport_socket.h"
#include "common/buffer/buffer_impl.h"
#include "common/network/filter_manager_impl.h"
#include "common/network/raw_transport_socket.h"
#include "common/network/splice_pipe.h"

namespace proxy::network {

// A non-blocking TCP connection on one dispatcher: edge-triggered reads into the read
// buffer handed to the read filters, writes coalesced until the end of the loop iteration
// and sent with writev, watermarks on the write buffer, half-close in both directions.
// Bytes go through a transport socket: raw (plain TCP, the default) or TLS.
class ConnectionImpl : public virtual Connection, protected FilterManagerImpl::ReadBufferSource {
 public:
  // Takes ownership of `fd`, a connected (or connecting, for ClientConnectionImpl) socket.
  // A null `transport_socket` means plain TCP.
  ConnectionImpl(event::Dispatcher& dispatcher, int fd, const Address& remote, const Address& local,
                 bool connected, TransportSocketPtr transport_socket = nullptr);
  ~ConnectionImpl() override;

  // network::FilterManager
  void addReadFilter(ReadFilterSharedPtr filter) override;
  void addWriteFilter(WriteFilterSharedPtr filter) override;
  void addFilter(FilterSharedPtr filter) override;
  // Counts the filters added from now on under `counters` (see FilterManagerImpl).
  void setInstallingFilterCounters(const stats::FilterCounters& counters) {
    filter_manager_.setInstallingFilterCounters(counters);
  }

  // network::Connection
  uint64_t id() const override { return id_; }
  event::Dispatcher& dispatcher() override { return dispatcher_; }
  void addConnectionCallbacks(ConnectionCallbacks& callbacks) override;
  void initializeReadFilters() override;
  void write(buffer::Instance& data, bool end_stream) override;
  void readDisable(bool disable) override;
  bool readEnabled() const override { return read_disable_count_ == 0; }
  void enableHalfClose(bool enabled) override { half_close_enabled_ = enabled; }
  void startDrain() override;
  void close(ConnectionCloseType type, std::string_view reason) override;
  void setDelayedCloseTimeout(std::chrono::milliseconds timeout) override;
  ConnectionState state() const override { return state_; }
  const std::string& closeReason() const override;
  void setBufferLimits(uint32_t limit) override { buffer_limit_ = limit; }
  uint32_t bufferLimit() const override { return buffer_limit_; }
  bool aboveHighWatermark() const override { return above_high_watermark_; }
  const Address& remoteAddress() const override { return remote_address_; }
  const Address& localAddress() const override { return local_address_; }
  ConnectionInfo& info() override { return info_; }
  bool startSplice(Connection& peer, SpliceCallbacks& callbacks) override;

  // Whether startSplice() took over this connection's bytes.
  bool splicing() const { return splicing_; }
  // Whether this connection allocated its rarely needed state (close reason, splicing): an
  // open connection that never spliced holds none, for tests.
  bool hasColdState() const { return cold_ != nullptr; }
  // splice(2) calls that moved bytes toward this connection's socket or out of it into the
  // pipe toward the peer's, for tests.
  uint64_t spliceTransfers() const;
  // Bytes waiting in the pipe toward this connection's socket.
  size_t splicePipeBytes() const {
    return cold_ != nullptr && cold_->splice_pipe != nullptr ? cold_->splice_pipe->bytes() : 0;
  }

 protected:
  // FilterManagerImpl::ReadBufferSource
  buffer::Instance& readBuffer() override { return read_buffer_; }
  bool readEndStream() const override { return read_end_stream_; }

  void onFileEvent(uint32_t events);
  virtual void onConnectResult() {}
  void closeSocket(ConnectionEvent event, std::string_view reason);
  // Watches fd_ and sets the options every connection's socket gets.
  void registerSocket();
  void raiseEvent(ConnectionEvent event);
  // The transport the bytes go through: owned_transport_socket_ (TLS), or for plain TCP
  // (null) read(2)/writev(2) on fd_ directly, as RawTransportSocket does, without an
  // instance: no allocation and no bytes in the connection.
  bool plainTcp() const { return owned_transport_socket_ == nullptr; }
  // The TLS (or other) transport; null for plain TCP.
  TransportSocket* ownedTransportSocket() const { return owned_transport_socket_.get(); }
  IoResult transportRead(void* data, size_t size) {
    return plainTcp() ? RawTransportSocket::readFrom(fd_, data, size)
                      : owned_transport_socket_->read(data, size);
  }
  IoResult transportWritev(const iovec* iov, int count) {
    return plainTcp() ? RawTransportSocket::writevTo(fd_, iov, count)
                      : owned_transport_socket_->writev(iov, count);
  }

  // Ordered so the small fields share words: every byte here is paid by each idle
  // connection, and 8 bytes can move the object into the next malloc size.
  event::Dispatcher& dispatcher_;
  Address remote_address_;
  Address local_address_;
  event::FileEventPtr file_event_;
  // Not established yet: the TCP connect or the transport's handshake is in progress.
  bool connecting_ = false;
  // A read or write failed (or the handshake did): closing says no goodbye (TLS
  // close_notify) on it.
  bool socket_failed_ = false;
  int fd_;

 private:
  void onReadReady();
  void onWriteReady();
  // Sends what the write buffer holds; false if the connection was closed.
  bool flushWriteBuffer();
  // Writes what the write buffer holds, as far as the socket takes it, and updates the
  // watermarks; false if that closed the connection.
  bool writeBufferedBytes();
  void updateWatermarksAfterWrite();
  // close(kFlushWrite) waited delayed_close_timeout_ms_ for the peer to take the bytes.
  void onDelayedCloseTimeout();
  void updateFileEvent();

  // Splicing (startSplice). Whether this side may splice now.
  bool canSplice() const;
  // Readiness while splicing: writes drain the pipe toward this socket, reads fill the one
  // toward the peer's.
  void onSpliceEvent(uint32_t events);
  void spliceRead();
  // Sends what the write buffer (bytes queued before splicing began), then the pipe toward
  // this socket, hold; true once both are empty.
  bool drainSplicePipe();
  // This side closed: the peer stops splicing into or out of it.
  void unlinkSplice();

  // What few connections need, allocated on first use so an idle connection does not carry
  // it: the close reason (set once, at close) and the splice state (startSplice).
  struct ColdState {
    std::string close_reason;
    // Splicing: the other side (null once either closed), the pipe carrying bytes toward
    // this socket (what a write buffer is otherwise), and who hears of activity.
    ConnectionImpl* splice_peer = nullptr;
    std::unique_ptr<SplicePipe> splice_pipe;
    SpliceCallbacks* splice_callbacks = nullptr;
    uint64_t splice_transfers_out = 0;  // fills of the peer's pipe from this socket
    // The peer stopped reading because this side's pipe was full: wake it once drained.
    bool splice_source_waiting = false;
    // Armed by close(kFlushWrite) while bytes are queued.
    event::TimerPtr delayed_close_timer;
  };
  ColdState& cold();
  void setCloseReason(std::string_view reason);
  size_t callbackCount() const { return callback_count_; }
  ConnectionCallbacks& callback(size_t i) const {
    return i < kInlineCallbacks ? *inline_callbacks_[i] : *(*more_callbacks_)[i - kInlineCallbacks];
  }

  const TransportSocketPtr owned_transport_socket_;
  const uint64_t id_;
  FilterManagerImpl filter_manager_;
  // Connection callbacks in the order added: the usual two (the worker's, one filter's)
  // inline, any more in a vector allocated then.
  static constexpr size_t kInlineCallbacks = 2;
  static constexpr size_t kMaxCallbacks = UINT8_MAX;
  ConnectionCallbacks* inline_callbacks_[kInlineCallbacks] = {};
  std::unique_ptr<std::vector<ConnectionCallbacks*>> more_callbacks_;
  buffer::OwnedBuffer read_buffer_;
  buffer::OwnedBuffer write_buffer_;
  ConnectionInfo info_;
  std::unique_ptr<ColdState> cold_;
  ConnectionState state_ = ConnectionState::kOpen;
  uint32_t buffer_limit_ = 0;
  // Milliseconds. With the narrow count and the three one-bit flags below it fits in the
  // words the fields already took, so idle connections pay nothing for it.
  uint32_t delayed_close_timeout_ms_ = static_cast<uint32_t>(kDefaultDelayedCloseTimeout.count());
  uint16_t read_disable_count_ = 0;  // nested readDisable(true) calls: a handful at most
  bool half_close_enabled_ = false;
  bool read_end_stream_ = false;    // the peer's FIN was read
  bool write_end_pending_ = false;  // shut down the write side once the buffer is empty
  bool write_end_sent_ = false;
  bool above_high_watermark_ = false;
  bool closing_after_flush_ = false;
  bool redeliver_read_buffer_ = false;  // bytes held while reading was disabled
  bool peer_hangup_seen_ = false;       // an event reported the peer's FIN, HUP or an error
  bool short_read_drains_ : 1 = false;  // the transport's shortReadDrainsSocket()
  bool draining_ : 1 = false;
  bool splicing_ : 1 = false;   // startSplice() took over; cold_ holds the splice state
  uint8_t callback_count_ = 0;  // at most kMaxCallbacks
};

// An outbound connection: connect() starts a non-blocking connect whose result is raised
// as kConnected or kConnectFailed.
// With a TLS transport socket the handshake follows the TCP connect, and kConnected is
// raised only once it completed; a handshake failure is kConnectFailed with
// transportFailure() true.
class ClientConnectionImpl final : public ConnectionImpl, public ClientConnection {
 public:
  // A null `transport_socket` means plain TCP.
  ClientConnectionImpl(event::Dispatcher& dispatcher, const Address& address,
                       TransportSocketPtr transport_socket = nullptr);

  // network::ClientConnection
  void connect() override;
  const std::string& failureReason() const override { return failure_reason_; }
  int failureErrno() const override { return failure_errno_; }
  bool transportFailure() const override { return transport_failure_; }

 private:
  void onConnectResult() override;
  void continueHandshake();
  void failConnect(int error);

  std::string failure_reason_;
  int failure_errno_ = 0;
  bool transport_failure_ = false;
  bool handshaking_ = false;  // TCP is connected; the transport's handshake is not done
  int pending_error_ = 0;     // a connect() error reported on the next iteration
  event::TimerPtr failure_timer_;
};

}  // namespace proxy::network
