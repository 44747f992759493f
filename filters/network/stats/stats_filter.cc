#include "filters/network/stats/stats_filter.h"

namespace proxy::filters::network_stats {

void StatsFilter::initializeReadFilterCallbacks(network::ReadFilterCallbacks& callbacks) {
  connection_ = &callbacks.connection();
  connection_->addConnectionCallbacks(*this);
}

network::FilterStatus StatsFilter::onNewConnection() {
  active_ = true;
  config_->connections_total->inc();
  config_->connections_active->inc();
  if (config_->legacy_total != nullptr) {
    config_->legacy_total->inc();
    config_->legacy_active->inc();
  }
  return network::FilterStatus::kContinue;
}

network::FilterStatus StatsFilter::onData(buffer::Instance&, bool) {
  countReceived();
  return network::FilterStatus::kContinue;
}

network::FilterStatus StatsFilter::onWrite(buffer::Instance& data, bool) {
  config_->sent_bytes->inc(data.length());
  counted_sent_ += data.length();
  return network::FilterStatus::kContinue;
}

void StatsFilter::countSplicedAtClose() {
  // Spliced bytes pass no filter: the connection's counts have them.
  const network::ConnectionInfo& info = connection_->info();
  if (info.bytes_sent > counted_sent_) {
    config_->sent_bytes->inc(info.bytes_sent - counted_sent_);
    counted_sent_ = info.bytes_sent;
  }
  if (config_->spliced_bytes != nullptr) {
    config_->spliced_bytes->inc(info.bytes_spliced);
  }
}

void StatsFilter::countReceived() {
  // From the connection's own count rather than the buffer's length: bytes a later filter
  // leaves in the buffer are shown again with the next read and must not count twice.
  uint64_t received = connection_->info().bytes_received;
  config_->received_bytes->inc(received - counted_received_);
  counted_received_ = received;
}

void StatsFilter::onEvent(network::ConnectionEvent event) {
  if (!active_ || (event != network::ConnectionEvent::kRemoteClose &&
                   event != network::ConnectionEvent::kLocalClose)) {
    return;
  }
  active_ = false;
  countReceived();
  countSplicedAtClose();
  config_->connections_active->dec();
  if (config_->legacy_active != nullptr) {
    config_->legacy_active->dec();
  }
  network::FailureCause failure = connection_->info().failure;
  if (failure != network::FailureCause::kNone) {
    config_->failures[static_cast<size_t>(failure)]->inc();
  }
  if (failure == network::FailureCause::kUpstreamConnectRefused ||
      failure == network::FailureCause::kUpstreamConnectTimeout ||
      failure == network::FailureCause::kUpstreamConnectError ||
      failure == network::FailureCause::kUpstreamTlsError) {
    config_->upstream_connect_failures->inc();
  }
}

}  // namespace proxy::filters::network_stats
