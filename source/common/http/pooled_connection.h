#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/event/deferred_deletable.h"
#include "api/event/dispatcher.h"
#include "api/event/timer.h"
#include "api/http/header_map.h"
#include "api/network/connection.h"
#include "api/network/filter.h"
#include "common/http/codec.h"

namespace proxy::http {

class ConnectionPool;

// Makes the client codec of a new upstream connection; tests inject their own.
using ClientCodecFactory =
    std::function<ClientCodecPtr(ClientCodecCallbacks& callbacks, const CodecLimits& limits)>;

// How an upstream exchange failed, as the pooled connection saw it.
enum class UpstreamFailure {
  kConnectRefused,  // connect() got ECONNREFUSED
  kConnectTimeout,  // the connect timer fired, or the kernel gave up (ETIMEDOUT)
  kConnectError,    // any other connect failure
  // The proxy could not open a socket (EMFILE, ENFILE, ENOBUFS, ENOMEM): not the upstream's
  // fault, so no passive-health penalty.
  kLocalResourceExhausted,
  kTlsError,       // connected, but the TLS handshake failed; nothing was sent
  kReset,          // closed or reset by the upstream before the response was complete
  kProtocolError,  // the codec refused the response
};

// What the stream using a pooled connection hears: the response through the codec
// callbacks, and the connection's failures and write-side watermarks. Worker thread only.
class PooledConnectionCallbacks : public ClientCodecCallbacks {
 public:
  // The exchange failed; the connection is already closed and detached from these callbacks.
  // `reason` is a short word for logs ("connection_reset", "bad_chunk").
  virtual void onUpstreamFailure(UpstreamFailure failure, std::string_view reason) = 0;
  // The bytes queued toward the upstream crossed its high / low watermark.
  virtual void onUpstreamAboveWriteBufferHighWatermark() = 0;
  virtual void onUpstreamBelowWriteBufferLowWatermark() = 0;
  // The timer set by armResponseTimer() fired. The connection is left as it is: the user
  // decides (and releases it, unfinished, so it is closed).
  virtual void onUpstreamResponseTimeout() = 0;
};

// One upstream HTTP/1.1 connection and its codec, carrying one exchange at a time. It is
// owned by its ConnectionPool while idle and by the stream using it otherwise, and it is
// destroyed through the dispatcher's deferredDelete() (it owns the socket, and it may be
// released from inside its own callbacks).
//
// The connection's callbacks cannot be unregistered, so this object registers itself and
// owns the connection: both go away together. While idle it watches the connection: a close
// or any byte from the upstream (nothing is expected between exchanges) removes it from
// its pool.
class PooledConnection final : public event::DeferredDeletable,
                               private network::ConnectionCallbacks,
                               private ClientCodecCallbacks {
 public:
  PooledConnection(event::Dispatcher& dispatcher, network::ClientConnectionPtr connection,
                   const ClientCodecFactory& codec_factory, const CodecLimits& limits);
  ~PooledConnection() override;

  PooledConnection(const PooledConnection&) = delete;
  PooledConnection& operator=(const PooledConnection&) = delete;

  // Starts an exchange for `callbacks`: their write-buffer limit is set on the connection
  // and they hear everything until the connection is released or fails. No callback runs
  // from inside attach().
  void attach(PooledConnectionCallbacks& callbacks, uint32_t buffer_limit);

  // New connections only: starts connecting, failing with kConnectTimeout if it takes longer
  // than `timeout`. Request bytes may be encoded before: they are sent once connected. With
  // some connections (mocks) the result is reported from inside this call.
  void connect(std::chrono::milliseconds timeout);
  // Established (a pooled one always is); false for a new one until kConnected.
  bool connected() const { return connected_; }

  // The request, serialized by the codec and queued on the connection. After a 101 (see
  // ClientCodec::upgraded()) encodeData() carries tunnel bytes, and its end_stream shuts
  // down the write side (FIN) rather than ending a body; the upstream's FIN or close ends
  // the response with an empty onResponseData(data, true). Such a connection is never
  // reusable.
  void encodeHeaders(const RequestHeaderMap& headers, bool end_stream);
  void encodeData(buffer::Instance& data, bool end_stream);
  void encodeTrailers(const HeaderMap& trailers);

  // Stops or resumes reading the response (backpressure from the downstream). Held at most
  // once; released when the connection goes back to its pool.
  void readDisable(bool disable);

  // The user's response timeout: onUpstreamResponseTimeout() after `timeout` unless
  // disarmed first. The timer belongs to the connection, not the exchange, so a reused
  // connection re-arms the same one (no timer made per request); it is disarmed whenever
  // the user lets go (released, failed, back to the pool).
  void armResponseTimer(std::chrono::milliseconds timeout);
  void disarmResponseTimer();

  // Whether this connection carried a complete exchange before the current one: a failure
  // before any response byte may then be the upstream closing an idle connection just as it
  // was reused, and the request is worth one retry on a fresh connection.
  bool reused() const { return exchanges_ > 0; }
  // Whether any byte of the current response has arrived.
  bool responseStarted() const { return response_bytes_ > 0; }
  // The request was fully sent, the final response fully received, the upstream allows
  // another request and the connection is open: it may go back to the pool.
  bool reusable() const;
  // The request was fully sent and the final response fully received.
  bool exchangeComplete() const { return request_complete_ && response_complete_; }

  network::ClientConnection& connection() { return *connection_; }

 private:
  friend class ConnectionPool;

  // The connection's read filter; forwards to onRead(). Owned by the connection, which this
  // object owns, so the reference never dangles.
  class Reader final : public network::ReadFilter {
   public:
    explicit Reader(PooledConnection& parent) : parent_(parent) {}
    void initializeReadFilterCallbacks(network::ReadFilterCallbacks&) override {}
    network::FilterStatus onNewConnection() override { return network::FilterStatus::kContinue; }
    network::FilterStatus onData(buffer::Instance& data, bool end_stream) override {
      parent_.onRead(data, end_stream);
      return network::FilterStatus::kStopIteration;
    }

   private:
    PooledConnection& parent_;
  };

  // Called by ConnectionPool.
  void detach();
  // A tunnel's connection may still hold its last bytes and FIN: it is closed after they
  // are sent, and `pool` hears onClosedAfterFlush() when the close is done.
  bool flushBeforeClose() const;
  void closeAfterFlush(ConnectionPool& pool, std::string_view reason);
  // Back in the pool: ready for the next exchange.
  void resetForReuse(ConnectionPool& pool);
  void clearIdlePool() { idle_pool_ = nullptr; }
  void close(std::string_view reason);

  // `end_stream`: the upstream's FIN, seen only once half-close is on (a tunnel).
  void onRead(buffer::Instance& data, bool end_stream);
  void onConnectTimeout();
  void onResponseTimeout();
  // Closes the connection and tells the user, who is detached first.
  void fail(UpstreamFailure failure, std::string_view reason);

  // network::ConnectionCallbacks
  void onEvent(network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // http::ClientCodecCallbacks (forwarded to the user)
  void onResponseHeaders(ResponseHeaderMapPtr headers, bool end_stream) override;
  void onResponseData(buffer::Instance& data, bool end_stream) override;
  void onResponseTrailers(HeaderMapPtr trailers) override;

  event::Dispatcher& dispatcher_;
  ClientCodecPtr codec_;
  event::TimerPtr connect_timer_;
  event::TimerPtr response_timer_;  // made on first use
  PooledConnectionCallbacks* callbacks_ = nullptr;
  ConnectionPool* idle_pool_ = nullptr;
  ConnectionPool* closing_pool_ = nullptr;
  uint64_t exchanges_ = 0;
  uint64_t response_bytes_ = 0;
  bool connecting_ = false;
  bool connected_ = false;
  bool request_complete_ = false;
  bool response_complete_ = false;
  bool read_disabled_ = false;
  // Last, so it is destroyed first: its read filter refers to this object.
  network::ClientConnectionPtr connection_;
};

using PooledConnectionPtr = std::unique_ptr<PooledConnection>;

}  // namespace proxy::http
