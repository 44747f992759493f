#include "common/http/pooled_connection.h"

#include <cerrno>

#include "common/buffer/buffer_impl.h"
#include "common/http/connection_pool.h"

namespace proxy::http {

PooledConnection::PooledConnection(event::Dispatcher& dispatcher,
                                   network::ClientConnectionPtr connection,
                                   const ClientCodecFactory& codec_factory,
                                   const CodecLimits& limits)
    : dispatcher_(dispatcher),
      codec_(codec_factory(*this, limits)),
      connection_(std::move(connection)) {
  connection_->addConnectionCallbacks(*this);
  connection_->addReadFilter(std::make_shared<Reader>(*this));
}

PooledConnection::~PooledConnection() {
  // Nobody is told about a close from here on.
  callbacks_ = nullptr;
  idle_pool_ = nullptr;
  closing_pool_ = nullptr;
  if (connection_->state() != network::ConnectionState::kClosed) {
    connection_->close(network::ConnectionCloseType::kNoFlush, "pool_closed");
  }
}

void PooledConnection::attach(PooledConnectionCallbacks& callbacks, uint32_t buffer_limit) {
  callbacks_ = &callbacks;
  connection_->setBufferLimits(buffer_limit);
}

void PooledConnection::detach() {
  callbacks_ = nullptr;
  disarmResponseTimer();
}

void PooledConnection::armResponseTimer(std::chrono::milliseconds timeout) {
  if (response_timer_ == nullptr) {
    response_timer_ = dispatcher_.createTimer([this] { onResponseTimeout(); });
  }
  response_timer_->enableTimer(timeout);
}

void PooledConnection::disarmResponseTimer() {
  if (response_timer_ != nullptr) {
    response_timer_->disableTimer();
  }
}

void PooledConnection::onResponseTimeout() {
  if (callbacks_ != nullptr) {
    callbacks_->onUpstreamResponseTimeout();
  }
}

bool PooledConnection::flushBeforeClose() const {
  return codec_->upgraded() && connection_->state() == network::ConnectionState::kOpen;
}

void PooledConnection::closeAfterFlush(ConnectionPool& pool, std::string_view reason) {
  callbacks_ = nullptr;
  disarmResponseTimer();
  idle_pool_ = nullptr;
  closing_pool_ = &pool;
  // May report the close at once, when nothing is queued.
  connection_->close(network::ConnectionCloseType::kFlushWrite, reason);
}

void PooledConnection::connect(std::chrono::milliseconds timeout) {
  connecting_ = true;
  connect_timer_ = dispatcher_.createTimer([this] { onConnectTimeout(); });
  connect_timer_->enableTimer(timeout);
  connection_->connect();
}

void PooledConnection::onConnectTimeout() {
  connecting_ = false;
  fail(UpstreamFailure::kConnectTimeout, "connect_timeout");
}

void PooledConnection::encodeHeaders(const RequestHeaderMap& headers, bool end_stream) {
  buffer::OwnedBuffer out;
  codec_->encodeHeaders(headers, end_stream, out);
  request_complete_ = end_stream;
  connection_->write(out, false);
}

void PooledConnection::encodeData(buffer::Instance& data, bool end_stream) {
  buffer::OwnedBuffer out;
  codec_->encodeData(data, end_stream, out);
  request_complete_ = end_stream;
  // In a tunnel the end of the client's bytes is a FIN toward the upstream.
  const bool fin = end_stream && codec_->upgraded();
  if (out.length() > 0 || fin) {
    connection_->write(out, fin);
  }
}

void PooledConnection::encodeTrailers(const HeaderMap& trailers) {
  buffer::OwnedBuffer out;
  codec_->encodeTrailers(trailers, out);
  request_complete_ = true;
  if (out.length() > 0) {
    connection_->write(out, false);
  }
}

void PooledConnection::readDisable(bool disable) {
  if (disable == read_disabled_ || connection_->state() != network::ConnectionState::kOpen) {
    return;
  }
  read_disabled_ = disable;
  connection_->readDisable(disable);
}

bool PooledConnection::reusable() const {
  return request_complete_ && response_complete_ && connected_ && codec_->keepAlive() &&
         connection_->state() == network::ConnectionState::kOpen;
}

void PooledConnection::resetForReuse(ConnectionPool& pool) {
  callbacks_ = nullptr;
  disarmResponseTimer();
  idle_pool_ = &pool;
  readDisable(false);
  codec_->reset();
  ++exchanges_;
  response_bytes_ = 0;
  request_complete_ = false;
  response_complete_ = false;
}

void PooledConnection::close(std::string_view reason) {
  callbacks_ = nullptr;
  idle_pool_ = nullptr;
  if (connect_timer_ != nullptr) {
    connect_timer_->disableTimer();
  }
  disarmResponseTimer();
  connection_->close(network::ConnectionCloseType::kNoFlush, reason);
}

void PooledConnection::fail(UpstreamFailure failure, std::string_view reason) {
  PooledConnectionCallbacks* callbacks = callbacks_;
  close(reason);
  if (callbacks != nullptr) {
    callbacks->onUpstreamFailure(failure, reason);
  }
}

void PooledConnection::onRead(buffer::Instance& data, bool end_stream) {
  if (callbacks_ == nullptr) {
    // Between exchanges the upstream has nothing to say; bytes now would be taken for the
    // next response.
    data.drain(data.length());
    if (idle_pool_ != nullptr) {
      idle_pool_->onIdleConnectionFailed(*this, "unexpected_data");
    } else {
      close("unexpected_data");
    }
    return;
  }
  response_bytes_ += data.length();
  std::optional<CodecError> error = codec_->dispatch(data);
  if (!error && end_stream && codec_->upgraded() && callbacks_ != nullptr) {
    // The upstream's half-close; its side of the tunnel is over, ours may still send.
    error = codec_->onConnectionClose();
  }
  if (!error) {
    return;
  }
  data.drain(data.length());
  if (callbacks_ != nullptr) {
    fail(UpstreamFailure::kProtocolError, error->reason);
    return;
  }
  // The user already has its complete response (the error is about bytes after it) and let
  // go of this connection, which release() closes since keepAlive() is false.
  if (connection_->state() == network::ConnectionState::kOpen && idle_pool_ == nullptr) {
    close(error->reason);
  }
}

void PooledConnection::onEvent(network::ConnectionEvent event) {
  switch (event) {
    case network::ConnectionEvent::kConnected:
      connecting_ = false;
      connected_ = true;
      if (connect_timer_ != nullptr) {
        connect_timer_->disableTimer();
      }
      return;
    case network::ConnectionEvent::kConnectFailed: {
      connecting_ = false;
      const int error = connection_->failureErrno();
      const UpstreamFailure failure = connection_->transportFailure() ? UpstreamFailure::kTlsError
                                      : error == ECONNREFUSED ? UpstreamFailure::kConnectRefused
                                      : error == ETIMEDOUT    ? UpstreamFailure::kConnectTimeout
                                      : network::isLocalResourceError(error)
                                          ? UpstreamFailure::kLocalResourceExhausted
                                          : UpstreamFailure::kConnectError;
      fail(failure, connection_->failureReason().empty() ? std::string_view("connect_failed")
                                                         : connection_->failureReason());
      return;
    }
    case network::ConnectionEvent::kRemoteClose:
    case network::ConnectionEvent::kLocalClose:
      break;
  }
  if (closing_pool_ != nullptr) {
    ConnectionPool* pool = closing_pool_;
    closing_pool_ = nullptr;
    pool->onClosedAfterFlush(*this);
    return;
  }
  if (connect_timer_ != nullptr) {
    connect_timer_->disableTimer();
  }
  if (idle_pool_ != nullptr) {
    idle_pool_->onIdleConnectionFailed(*this, connection_->closeReason());
    return;
  }
  if (callbacks_ == nullptr) {
    return;  // released and closed on purpose, or already failed
  }
  // Only a clean end (a FIN, or TLS close_notify) can end a response read until the close:
  // a reset, or TLS without close_notify (a crash, or a truncation attack), cut it.
  if (event == network::ConnectionEvent::kRemoteClose && !response_complete_ &&
      !codec_->upgraded() && connection_->closeReason() != "remote_close") {
    fail(UpstreamFailure::kReset, connection_->closeReason());
    return;
  }
  // A response delimited by the close completes here; anything else was cut off.
  std::optional<CodecError> error = codec_->onConnectionClose();
  if (callbacks_ == nullptr) {
    return;  // the response completed and the user let go of the connection
  }
  if (error && error->reason != "truncated") {
    fail(UpstreamFailure::kProtocolError, error->reason);
    return;
  }
  if (!response_complete_) {
    const std::string& reason = connection_->closeReason();
    fail(UpstreamFailure::kReset,
         reason.empty() ? std::string_view("remote_close") : std::string_view(reason));
  }
}

void PooledConnection::onAboveWriteBufferHighWatermark() {
  if (callbacks_ != nullptr) {
    callbacks_->onUpstreamAboveWriteBufferHighWatermark();
  }
}

void PooledConnection::onBelowWriteBufferLowWatermark() {
  if (callbacks_ != nullptr) {
    callbacks_->onUpstreamBelowWriteBufferLowWatermark();
  }
}

void PooledConnection::onResponseHeaders(ResponseHeaderMapPtr headers, bool end_stream) {
  // Interim (1xx) heads are followed by the final response.
  if (end_stream) {
    response_complete_ = true;
  }
  if (codec_->upgraded()) {
    // A FIN is now one direction of the tunnel ending, not the connection's end.
    connection_->enableHalfClose(true);
  }
  if (callbacks_ != nullptr) {
    callbacks_->onResponseHeaders(std::move(headers), end_stream);
  }
}

void PooledConnection::onResponseData(buffer::Instance& data, bool end_stream) {
  // Known before the user hears it: the user may release this connection from inside.
  if (end_stream) {
    response_complete_ = true;
  }
  if (callbacks_ != nullptr) {
    callbacks_->onResponseData(data, end_stream);
  }
}

void PooledConnection::onResponseTrailers(HeaderMapPtr trailers) {
  response_complete_ = true;
  if (callbacks_ != nullptr) {
    callbacks_->onResponseTrailers(std::move(trailers));
  }
}

}  // namespace proxy::http
