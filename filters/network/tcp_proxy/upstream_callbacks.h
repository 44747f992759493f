#pragma once

#include <chrono>

#include "api/event/timer.h"
#include "api/network/connection.h"
#include "api/network/filter.h"

namespace proxy::filters::tcp_proxy {

class TcpProxyFilter;

// The upstream connection's read filter and event sink. It is owned by the upstream
// connection (as its read filter), so it lives exactly as long as the connection does;
// the TcpProxyFilter detaches from it when it goes away. If bytes toward the upstream are
// still queued then, it takes ownership of the connection until they are flushed (bounded
// by a timer) and then deletes it.
class UpstreamCallbacks final : public network::ReadFilter, public network::ConnectionCallbacks {
 public:
  explicit UpstreamCallbacks(TcpProxyFilter& parent) : parent_(&parent) {}

  void detach() { parent_ = nullptr; }
  // Keeps `connection` (closing with a flush) alive until it closes or `limit` passes.
  void adoptWhileFlushing(network::ClientConnectionPtr connection, std::chrono::milliseconds limit);

  // network::ReadFilter
  void initializeReadFilterCallbacks(network::ReadFilterCallbacks&) override {}
  network::FilterStatus onNewConnection() override { return network::FilterStatus::kContinue; }
  network::FilterStatus onData(buffer::Instance& data, bool end_stream) override;

  // network::ConnectionCallbacks
  void onEvent(network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

 private:
  TcpProxyFilter* parent_;
  network::ClientConnectionPtr adopted_;
  event::TimerPtr flush_timer_;
};

}  // namespace proxy::filters::tcp_proxy
