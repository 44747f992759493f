#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "api/buffer/buffer.h"
#include "api/event/deferred_deletable.h"
#include "api/network/address.h"
#include "api/network/connection_info.h"
#include "api/network/filter.h"

namespace proxy::event {
class Dispatcher;
}

namespace proxy::network {

enum class ConnectionEvent {
  kConnected,      // an outbound connection completed its handshake (TCP, then TLS if any)
  kConnectFailed,  // an outbound connection could not be established (see failureReason())
  kRemoteClose,    // the peer closed or reset, or the socket failed
  kLocalClose,     // close() was called on this side
};

enum class ConnectionCloseType {
  kFlushWrite,  // stop reading, send what is queued, then close
  kNoFlush,     // close now, dropping queued bytes
};

enum class ConnectionState { kOpen, kClosing, kClosed };

// A peer that never reads must not keep a closing connection (and its buffers) forever.
inline constexpr std::chrono::milliseconds kDefaultDelayedCloseTimeout{5000};

// Told about a connection's life. Callbacks are never unregistered: register only objects
// that live at least as long as the connection (its filters, or its owner).
class ConnectionCallbacks {
 public:
  virtual ~ConnectionCallbacks() = default;

  virtual void onEvent(ConnectionEvent event) = 0;

  // The write buffer rose above the high watermark: stop producing for this connection.
  virtual void onAboveWriteBufferHighWatermark() = 0;
  // It fell back below the low watermark: produce again.
  virtual void onBelowWriteBufferLowWatermark() = 0;
};

// Told by a splice (Connection::startSplice) that it moved bytes, in either direction.
class SpliceCallbacks {
 public:
  virtual ~SpliceCallbacks() = default;
  // Called once per batch of bytes read from one side, not per byte.
  virtual void onSpliceActivity() = 0;
};

// A non-blocking TCP connection owned by one worker. Every method runs on that worker.
// Destroy it through the dispatcher's deferredDelete() once closed.
class Connection : public event::DeferredDeletable, public FilterManager {
 public:
  virtual uint64_t id() const = 0;
  virtual event::Dispatcher& dispatcher() = 0;

  virtual void addConnectionCallbacks(ConnectionCallbacks& callbacks) = 0;

  // Starts the read filters: calls onNewConnection() on each. Called by whoever installed
  // the chain once it is complete.
  virtual void initializeReadFilters() = 0;

  // Queues `data` (drained from it) through the write filters to the socket. With
  // `end_stream` the write side is shut down (FIN) once everything queued is sent.
  virtual void write(buffer::Instance& data, bool end_stream) = 0;

  // Stops (true) or resumes (false) reading; calls nest and must balance.
  virtual void readDisable(bool disable) = 0;
  virtual bool readEnabled() const = 0;

  // When enabled, the peer's FIN is passed to read filters as end_stream and the connection
  // stays open for writing; otherwise the peer's FIN closes the connection.
  virtual void enableHalfClose(bool enabled) = 0;

  // Tells the read filters the proxy is draining (ReadFilter::onDrain). Once per connection.
  virtual void startDrain() = 0;

  virtual void close(ConnectionCloseType type, std::string_view reason) = 0;
  // How long close(kFlushWrite) waits for the peer to take the queued bytes: after it the
  // connection is closed without them, with close reason "delayed_close_timeout" and, unless
  // a failure is already recorded, info().failure kDelayedCloseTimeout. Zero waits as long as
  // flushing takes. kDefaultDelayedCloseTimeout until set.
  virtual void setDelayedCloseTimeout(std::chrono::milliseconds timeout) = 0;
  virtual ConnectionState state() const = 0;
  // Why the connection closed ("remote_close", "idle_timeout", ...); empty while open.
  virtual const std::string& closeReason() const = 0;

  // Sets the write buffer's high watermark (the low one is half of it) and the most bytes
  // held unread in the read buffer before reading pauses. 0 means unlimited.
  virtual void setBufferLimits(uint32_t limit) = 0;
  virtual uint32_t bufferLimit() const = 0;
  virtual bool aboveHighWatermark() const = 0;

  virtual const Address& remoteAddress() const = 0;
  virtual const Address& localAddress() const = 0;

  virtual ConnectionInfo& info() = 0;

  // Moves the bytes read from this connection to `peer`, and from `peer` to this one, inside
  // the kernel (splice(2) through a pipe per direction) instead of through the read filters
  // and write(): no filter of either side sees onData()/onWrite() from then on, while
  // ConnectionInfo still counts the bytes (and bytes_spliced says how many went this way).
  // Half-close passes through; a pipe toward a side that does not read is that side's write
  // buffer, and while it holds bytes the other side is not read; close(kFlushWrite) still
  // sends what the pipe holds; a reset or a failed socket closes that side as a failed read
  // or write would. `callbacks` hears of every batch moved until either side closes.
  // Only for plain TCP on both sides, on one dispatcher, both with half-close enabled and
  // nothing buffered yet; returns false, changing nothing, otherwise. Call it on one side.
  virtual bool startSplice(Connection& peer, SpliceCallbacks& callbacks) {
    (void)peer;
    (void)callbacks;
    return false;
  }
};

using ConnectionPtr = std::unique_ptr<Connection>;

// An outbound connection.
class ClientConnection : public virtual Connection {
 public:
  // Starts a non-blocking connect; the result arrives as kConnected or kConnectFailed.
  virtual void connect() = 0;
  // Why connecting failed ("connection refused"), for logs.
  virtual const std::string& failureReason() const = 0;
  // The errno that made connecting fail, 0 if none.
  virtual int failureErrno() const = 0;
  // True when the TCP connection was made but the transport's handshake failed (TLS: the
  // certificate was not trusted, the name did not match, or the peer does not speak TLS);
  // failureReason() says which.
  virtual bool transportFailure() const = 0;
};

using ClientConnectionPtr = std::unique_ptr<ClientConnection>;

}  // namespace proxy::network
