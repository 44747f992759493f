#include "filters/network/tcp_proxy/tcp_proxy.h"

#include <cerrno>

#include "api/event/dispatcher.h"
#include "common/log/timeout_log.h"
#include "common/log/upstream_failure_log.h"
#include "filters/network/tcp_proxy/upstream_callbacks.h"

namespace proxy::filters::tcp_proxy {
namespace {

// How long a closed downstream's last bytes may take to reach the upstream.
constexpr std::chrono::milliseconds kUpstreamFlushLimit{30000};

network::FailureCause causeOfConnectFailure(int error) {
  switch (error) {
    case ECONNREFUSED:
      return network::FailureCause::kUpstreamConnectRefused;
    case ETIMEDOUT:
      return network::FailureCause::kUpstreamConnectTimeout;
    default:
      return network::FailureCause::kUpstreamConnectError;
  }
}

}  // namespace

TcpProxyFilter::TcpProxyFilter(TcpProxyConfigConstSharedPtr config) : config_(std::move(config)) {}

TcpProxyFilter::~TcpProxyFilter() {
  if (upstream_ != nullptr) {
    releaseUpstream(false);
  }
}

void TcpProxyFilter::initializeReadFilterCallbacks(network::ReadFilterCallbacks& callbacks) {
  read_callbacks_ = &callbacks;
  network::Connection& downstream = callbacks.connection();
  downstream.addConnectionCallbacks(*this);
  downstream.enableHalfClose(true);
  downstream.setBufferLimits(config_->buffer_limit);
  downstream.setDelayedCloseTimeout(config_->delayed_close_timeout);
}

network::FilterStatus TcpProxyFilter::onNewConnection() {
  network::Connection& downstream = read_callbacks_->connection();
  downstream.info().upstream_cluster = config_->cluster->name();
  // Reading goes on while the upstream connects: what arrives is held in onData(), which
  // costs no epoll change; reading stops only if the client sends more than buffer_limit.
  connectNext();
  return network::FilterStatus::kStopIteration;
}

void TcpProxyFilter::connectNext() {
  network::Connection& downstream = read_callbacks_->connection();
  // The cluster's policy picks among the healthy hosts this connection has not tried yet.
  upstream::HostChoice choice = config_->cluster->chooseHost(tried_);
  if (choice.host == nullptr) {
    // After failed attempts, the last one's cause; else there was nothing to try.
    if (downstream.info().failure == network::FailureCause::kNone) {
      downstream.info().failure = network::FailureCause::kNoHealthyEndpoint;
    }
    failDownstream(downstream.info().failure);
    return;
  }
  host_ = std::move(choice.host);
  tried_.push_back(host_.get());
  host_->onRequestStart();
  const auto now = std::chrono::steady_clock::now();
  walk_.start(*host_, host_->address(), now, config_->cluster->connectTimeout());
  connectAddress(now);
}

void TcpProxyFilter::connectAddress(upstream::AddressWalk::Clock::time_point now) {
  network::Connection& downstream = read_callbacks_->connection();
  const network::Address address = walk_.current();
  upstream_callbacks_ = std::make_shared<UpstreamCallbacks>(*this);
  upstream_ = downstream.dispatcher().createClientConnection(address);
  upstream_->addConnectionCallbacks(*upstream_callbacks_);
  upstream_->addReadFilter(upstream_callbacks_);
  upstream_->enableHalfClose(true);
  upstream_->setBufferLimits(config_->buffer_limit);
  upstream_->setDelayedCloseTimeout(config_->delayed_close_timeout);
  downstream.info().upstream_address = address;
  if (connect_timer_ == nullptr) {
    connect_timer_ = downstream.dispatcher().createTimer([this] { onConnectTimeout(); });
  }
  connect_timer_->enableTimer(walk_.tryTimeout(now));
  upstream_->connect();
}

void TcpProxyFilter::onConnectTimeout() {
  logTimeout("connect_timeout", config_->cluster->connectTimeout());
  read_callbacks_->connection().info().failure = network::FailureCause::kUpstreamConnectTimeout;
  onAddressFailed();
}

void TcpProxyFilter::onAddressFailed() {
  closeUpstreamConnection(false);
  const auto now = std::chrono::steady_clock::now();
  if (walk_.advance(now)) {
    connectAddress(now);  // the same host's next address: no health penalty yet
    return;
  }
  // Every address of the host failed: that is one failure of the host.
  host_->onConnectFailure();
  releaseUpstream(false);
  connectNext();
}

network::FilterStatus TcpProxyFilter::onData(buffer::Instance& data, bool end_stream) {
  if (!connected_) {
    held_.move(data);
    held_end_stream_ = held_end_stream_ || end_stream;
    if (config_->buffer_limit > 0 && held_.length() >= config_->buffer_limit &&
        !downstream_read_disabled_) {
      downstream_read_disabled_ = true;
      read_callbacks_->connection().readDisable(true);
    }
    return network::FilterStatus::kStopIteration;
  }
  if (upstream_ != nullptr) {
    const uint64_t bytes = data.length();
    upstream_->write(data, end_stream);
    countCopied(bytes);
    resetIdleTimer();
  }
  return network::FilterStatus::kStopIteration;
}

void TcpProxyFilter::onUpstreamData(buffer::Instance& data, bool end_stream) {
  const uint64_t bytes = data.length();
  read_callbacks_->connection().write(data, end_stream);
  resetIdleTimer();
  countCopied(bytes);
}

void TcpProxyFilter::countCopied(uint64_t bytes) {
  copied_bytes_ += bytes;
  if (!config_->splice || splicing_ || copied_bytes_ < config_->splice_after_bytes ||
      upstream_ == nullptr || !connected_) {
    return;
  }
  // Declined while bytes are still queued on either side (or for TLS...): tried again
  // with the next bytes, which keep flowing through onData() meanwhile.
  splicing_ = read_callbacks_->connection().startSplice(*upstream_, *this);
}

void TcpProxyFilter::onUpstreamEvent(network::ConnectionEvent event) {
  network::Connection& downstream = read_callbacks_->connection();
  switch (event) {
    case network::ConnectionEvent::kConnected:
      connected_ = true;
      connect_timer_->disableTimer();
      host_->onConnectSuccess();
      if (walk_.moved()) {
        host_->onAddressConnected(walk_.current());
      }
      downstream.info().failure = network::FailureCause::kNone;
      downstream.info().upstream_address = upstream_->remoteAddress();
      if (config_->idle_timeout.count() > 0) {
        idle_timer_ = downstream.dispatcher().createTimer([this] { onIdleTimeout(); });
        resetIdleTimer();
      }
      if (held_.length() > 0 || held_end_stream_) {
        const uint64_t bytes = held_.length();
        upstream_->write(held_, held_end_stream_);
        held_end_stream_ = false;
        if (upstream_ == nullptr) {
          return;  // the write failed and closed the upstream
        }
        countCopied(bytes);
      } else {
        countCopied(0);  // a threshold of 0 splices from the start
      }
      if (downstream_read_disabled_ && !upstream_->aboveHighWatermark()) {
        downstream_read_disabled_ = false;
        downstream.readDisable(false);
      }
      return;
    case network::ConnectionEvent::kConnectFailed: {
      const int error = upstream_->failureErrno();
      if (network::isLocalResourceError(error)) {
        // The proxy is out of descriptors: no endpoint is to blame (none is penalized) and
        // none would do better, so the client is closed at once.
        logConnectFailure(network::FailureCause::kLocalResourceExhausted);
        releaseUpstream(false);
        failDownstream(network::FailureCause::kLocalResourceExhausted);
        return;
      }
      downstream.info().failure = causeOfConnectFailure(error);
      logConnectFailure(downstream.info().failure);
      onAddressFailed();
      return;
    }
    case network::ConnectionEvent::kRemoteClose:
    case network::ConnectionEvent::kLocalClose:
      // Both directions are finished, or the upstream failed: the downstream gets what is
      // still queued for it, then closes.
      if (event == network::ConnectionEvent::kRemoteClose &&
          upstream_->closeReason() == "connection_reset") {
        downstream.info().failure = network::FailureCause::kUpstreamReset;
      }
      releaseUpstream(false);
      downstream.close(network::ConnectionCloseType::kFlushWrite, "upstream_closed");
      return;
  }
}

void TcpProxyFilter::onEvent(network::ConnectionEvent event) {
  if (event != network::ConnectionEvent::kRemoteClose &&
      event != network::ConnectionEvent::kLocalClose) {
    return;
  }
  network::Connection& downstream = read_callbacks_->connection();
  if (downstream.closeReason() == "delayed_close_timeout") {
    logTimeout("delayed_close_timeout", config_->delayed_close_timeout);
  }
  if (event == network::ConnectionEvent::kRemoteClose &&
      downstream.closeReason() == "connection_reset" &&
      downstream.info().failure == network::FailureCause::kNone) {
    downstream.info().failure = network::FailureCause::kClientReset;
  }
  if (config_->access_log != nullptr && !logged_) {
    logged_ = true;
    config_->access_log->log(config_->listener_name, downstream.remoteAddress(), downstream.info(),
                             std::chrono::steady_clock::now());
  }
  if (connect_timer_ != nullptr) {
    connect_timer_->disableTimer();
  }
  if (idle_timer_ != nullptr) {
    idle_timer_->disableTimer();
  }
  if (upstream_ != nullptr) {
    // What the downstream sent before it went away still reaches the upstream.
    releaseUpstream(connected_);
  }
}

void TcpProxyFilter::onAboveWriteBufferHighWatermark() {
  // The downstream is not reading fast enough: stop reading the upstream.
  if (upstream_ != nullptr && !upstream_read_disabled_) {
    upstream_read_disabled_ = true;
    upstream_->readDisable(true);
  }
}

void TcpProxyFilter::onBelowWriteBufferLowWatermark() {
  if (upstream_ != nullptr && upstream_read_disabled_) {
    upstream_read_disabled_ = false;
    upstream_->readDisable(false);
  }
}

void TcpProxyFilter::onUpstreamAboveHighWatermark() {
  if (!downstream_read_disabled_) {
    downstream_read_disabled_ = true;
    read_callbacks_->connection().readDisable(true);
  }
}

void TcpProxyFilter::onUpstreamBelowLowWatermark() {
  if (downstream_read_disabled_ && connected_) {
    downstream_read_disabled_ = false;
    read_callbacks_->connection().readDisable(false);
  }
}

void TcpProxyFilter::onIdleTimeout() {
  logTimeout("idle_timeout", config_->idle_timeout);
  network::Connection& downstream = read_callbacks_->connection();
  downstream.info().failure = network::FailureCause::kIdleTimeout;
  releaseUpstream(false);
  downstream.close(network::ConnectionCloseType::kNoFlush, "idle_timeout");
}

void TcpProxyFilter::resetIdleTimer() {
  if (idle_timer_ != nullptr) {
    idle_timer_->enableTimer(config_->idle_timeout);
  }
}

void TcpProxyFilter::logTimeout(std::string_view name, std::chrono::milliseconds duration) {
  if (config_->logger != nullptr) {
    log::logTimeout(*config_->logger, name, duration, config_->listener_name,
                    read_callbacks_->connection().remoteAddress());
  }
}

void TcpProxyFilter::logConnectFailure(network::FailureCause cause) {
  if (config_->logger != nullptr) {
    log::logUpstreamFailure(*config_->logger, network::failureCauseName(cause),
                            config_->listener_name, config_->cluster->name(),
                            upstream_->remoteAddress(), upstream_->failureReason());
  }
}

void TcpProxyFilter::failDownstream(network::FailureCause cause) {
  network::Connection& downstream = read_callbacks_->connection();
  downstream.info().failure = cause;
  downstream.close(network::ConnectionCloseType::kNoFlush, network::failureCauseName(cause));
}

void TcpProxyFilter::releaseUpstream(bool flush) {
  if (host_ != nullptr) {
    host_->onRequestEnd();
    host_.reset();
  }
  closeUpstreamConnection(flush);
}

void TcpProxyFilter::closeUpstreamConnection(bool flush) {
  if (upstream_ == nullptr) {
    return;
  }
  connected_ = false;
  upstream_callbacks_->detach();
  if (flush && upstream_->state() == network::ConnectionState::kOpen) {
    upstream_->close(network::ConnectionCloseType::kFlushWrite, "downstream_closed");
    if (upstream_->state() != network::ConnectionState::kClosed) {
      upstream_callbacks_->adoptWhileFlushing(std::move(upstream_), kUpstreamFlushLimit);
      upstream_callbacks_.reset();
      return;
    }
  } else {
    upstream_->close(network::ConnectionCloseType::kNoFlush, "downstream_closed");
  }
  event::Dispatcher& dispatcher = upstream_->dispatcher();
  dispatcher.deferredDelete(std::move(upstream_));
  upstream_callbacks_.reset();
}

}  // namespace proxy::filters::tcp_proxy
