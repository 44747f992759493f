#pragma once

#include <array>
#include <memory>

#include "api/network/connection.h"
#include "api/network/filter.h"
#include "api/stats/stats.h"

namespace proxy::filters::network_stats {

// The counters of one listener, created once at config time.
struct StatsConfig {
  stats::Counter* connections_total = nullptr;
  stats::Gauge* connections_active = nullptr;
  stats::Counter* received_bytes = nullptr;
  stats::Counter* sent_bytes = nullptr;
  // Of received + sent, the bytes tcp_proxy moved with splice(2).
  stats::Counter* spliced_bytes = nullptr;
  stats::Counter* upstream_connect_failures = nullptr;
  // One per FailureCause, indexed by its value; kNone's slot is unused.
  std::array<stats::Counter*, static_cast<size_t>(network::FailureCause::kDelayedCloseTimeout) + 1>
      failures{};
  // The Go program's unlabelled names, only on listeners whose chain ends in tcp_proxy.
  stats::Counter* legacy_total = nullptr;
  stats::Gauge* legacy_active = nullptr;
};

using StatsConfigConstSharedPtr = std::shared_ptr<const StatsConfig>;

// Counts a listener's connections, bytes and failures. Failures are read from the
// connection's ConnectionInfo when it closes, where the proxying filter recorded them.
// Bytes are counted as the filter sees them pass and, for spliced bytes that pass no
// filter, from the connection's counts when it closes.
class StatsFilter final : public network::Filter, public network::ConnectionCallbacks {
 public:
  explicit StatsFilter(StatsConfigConstSharedPtr config) : config_(std::move(config)) {}

  // network::ReadFilter
  void initializeReadFilterCallbacks(network::ReadFilterCallbacks& callbacks) override;
  network::FilterStatus onNewConnection() override;
  network::FilterStatus onData(buffer::Instance& data, bool end_stream) override;

  // network::WriteFilter
  void initializeWriteFilterCallbacks(network::WriteFilterCallbacks&) override {}
  network::FilterStatus onWrite(buffer::Instance& data, bool end_stream) override;

  // network::ConnectionCallbacks
  void onEvent(network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override {}
  void onBelowWriteBufferLowWatermark() override {}

 private:
  void countReceived();
  void countSplicedAtClose();

  const StatsConfigConstSharedPtr config_;
  network::Connection* connection_ = nullptr;
  uint64_t counted_received_ = 0;
  uint64_t counted_sent_ = 0;
  bool active_ = false;
};

}  // namespace proxy::filters::network_stats
