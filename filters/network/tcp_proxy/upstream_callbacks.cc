#include "filters/network/tcp_proxy/upstream_callbacks.h"

#include "api/event/dispatcher.h"
#include "filters/network/tcp_proxy/tcp_proxy.h"

namespace proxy::filters::tcp_proxy {

void UpstreamCallbacks::adoptWhileFlushing(network::ClientConnectionPtr connection,
                                           std::chrono::milliseconds limit) {
  adopted_ = std::move(connection);
  flush_timer_ = adopted_->dispatcher().createTimer([this] {
    // The upstream stopped reading: give up on the rest.
    adopted_->close(network::ConnectionCloseType::kNoFlush, "flush_timeout");
  });
  flush_timer_->enableTimer(limit);
}

network::FilterStatus UpstreamCallbacks::onData(buffer::Instance& data, bool end_stream) {
  if (parent_ != nullptr) {
    parent_->onUpstreamData(data, end_stream);
  } else {
    data.drain(data.length());  // nobody left to send it to
  }
  return network::FilterStatus::kStopIteration;
}

void UpstreamCallbacks::onEvent(network::ConnectionEvent event) {
  if (parent_ != nullptr) {
    parent_->onUpstreamEvent(event);
    return;
  }
  if (adopted_ != nullptr && (event == network::ConnectionEvent::kRemoteClose ||
                              event == network::ConnectionEvent::kLocalClose)) {
    flush_timer_.reset();
    // Breaks the ownership cycle (the connection owns this object as its filter).
    adopted_->dispatcher().deferredDelete(std::move(adopted_));
  }
}

void UpstreamCallbacks::onAboveWriteBufferHighWatermark() {
  if (parent_ != nullptr) {
    parent_->onUpstreamAboveHighWatermark();
  }
}

void UpstreamCallbacks::onBelowWriteBufferLowWatermark() {
  if (parent_ != nullptr) {
    parent_->onUpstreamBelowLowWatermark();
  }
}

}  // namespace proxy::filters::tcp_proxy
