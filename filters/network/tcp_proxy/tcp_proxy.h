#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "api/access_log/access_log.h"
#include "api/event/timer.h"
#include "api/log/logger.h"
#include "api/network/connection.h"
#include "api/network/filter.h"
#include "api/upstream/cluster.h"
#include "common/buffer/buffer_impl.h"
#include "common/upstream/address_walk.h"

namespace proxy::filters::tcp_proxy {

// Immutable settings shared by every connection of one listener.
struct TcpProxyConfig {
  upstream::ClusterConstSharedPtr cluster;
  // Closes both sides after this long without a byte either way; zero disables it.
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};
  // How long either side, closing after a flush, waits for its peer to take the queued
  // bytes before it is closed hard; zero waits forever.
  std::chrono::milliseconds delayed_close_timeout{network::kDefaultDelayedCloseTimeout};
  // Bytes queued toward either side before the other side stops being read.
  uint32_t buffer_limit = 1024 * 1024;
  // Moves bytes with splice(2), kernel to kernel, when both sides are plain TCP (see
  // network::Connection::startSplice), once the connection has carried splice_after_bytes
  // through user space. The factory turns it off when the config's `splice` says so or
  // another filter in the chain reads the bytes.
  bool splice = true;
  // A short exchange costs fewer system calls copied (one read and one write per chunk)
  // than spliced (two pipes, two splice calls per chunk and the EAGAIN probes), so bytes
  // are copied until this many have passed either way; bulk transfers then go by splice.
  uint64_t splice_after_bytes = 64 * 1024;
  // For timeout log lines and the access log (null: off).
  std::string listener_name;
  log::Logger* logger = nullptr;
  access_log::AccessLogSinkSharedPtr access_log;
};

using TcpProxyConfigConstSharedPtr = std::shared_ptr<const TcpProxyConfig>;

class UpstreamCallbacks;

// The terminal network filter that pipes a downstream connection to a host of its cluster,
// chosen by the cluster's policy: connect with a timeout, walking the host's addresses
// (AddressWalk) and then trying the next chosen host on failure (a host whose every address
// failed is reported to its passive health); bytes both ways
// with backpressure (a side whose write buffer is above its watermark stops the other
// side's reading); half-close passed through in both directions; an idle timeout. Bytes the
// client sends while the upstream connects are held (up to buffer_limit, then reading
// stops) and sent once it is up. After the first splice_after_bytes, bytes skip user space
// (splice) when the config allows it and both connections can; the filter then only hears
// of activity, for the idle timeout.
class TcpProxyFilter final : public network::ReadFilter,
                             public network::ConnectionCallbacks,
                             public network::SpliceCallbacks {
 public:
  explicit TcpProxyFilter(TcpProxyConfigConstSharedPtr config);
  ~TcpProxyFilter() override;

  const TcpProxyConfig& config() const { return *config_; }

  // network::ReadFilter
  void initializeReadFilterCallbacks(network::ReadFilterCallbacks& callbacks) override;
  network::FilterStatus onNewConnection() override;
  network::FilterStatus onData(buffer::Instance& data, bool end_stream) override;

  // network::ConnectionCallbacks (the downstream connection)
  void onEvent(network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // network::SpliceCallbacks
  void onSpliceActivity() override { resetIdleTimer(); }

 private:
  friend class UpstreamCallbacks;

  // Chooses the next host and connects to its first address.
  void connectNext();
  // Connects to walk_.current(), with that address' share of the connect timeout.
  void connectAddress(upstream::AddressWalk::Clock::time_point now);
  void onConnectTimeout();
  // The current address failed to connect: the host's next address, else the next host.
  void onAddressFailed();
  void onIdleTimeout();
  void resetIdleTimer();
  // Called by UpstreamCallbacks.
  void onUpstreamData(buffer::Instance& data, bool end_stream);
  void onUpstreamEvent(network::ConnectionEvent event);
  void onUpstreamAboveHighWatermark();
  void onUpstreamBelowLowWatermark();
  void failDownstream(network::FailureCause cause);
  // The upstream connect failed with `cause`: one log line with the system's reason.
  void logConnectFailure(network::FailureCause cause);
  void logTimeout(std::string_view name, std::chrono::milliseconds duration);
  // Lets go of the host (its active request ends) and the upstream connection.
  void releaseUpstream(bool flush);
  // Lets go of the upstream connection only: closed now, or handed to its callbacks to
  // finish flushing when bytes are still queued toward it.
  void closeUpstreamConnection(bool flush);
  // Counts copied bytes and, past the config's threshold, hands both directions to splice.
  void countCopied(uint64_t bytes);

  const TcpProxyConfigConstSharedPtr config_;
  network::ReadFilterCallbacks* read_callbacks_ = nullptr;
  network::ClientConnectionPtr upstream_;
  std::shared_ptr<UpstreamCallbacks> upstream_callbacks_;
  event::TimerPtr connect_timer_;
  event::TimerPtr idle_timer_;
  // The host of the current attempt (counted in its active requests until released) and
  // every host this connection tried.
  upstream::HostSharedPtr host_;
  std::vector<const upstream::Host*> tried_;
  // The current host's addresses, tried in turn within the connect timeout.
  upstream::AddressWalk walk_;
  // What the client sent before the upstream was connected, and whether it half-closed.
  buffer::OwnedBuffer held_;
  bool held_end_stream_ = false;
  uint64_t copied_bytes_ = 0;
  bool splicing_ = false;
  bool connected_ = false;
  bool downstream_read_disabled_ = false;
  bool upstream_read_disabled_ = false;
  bool logged_ = false;
};

}  // namespace proxy::filters::tcp_proxy
