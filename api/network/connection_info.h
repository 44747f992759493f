#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "api/network/address.h"

namespace proxy::network {

// Why a proxied connection or request failed, one fixed vocabulary shared by logs and
// metrics (CONTRACT.md §3). kNone means it did not fail.
enum class FailureCause {
  kNone,
  kUpstreamConnectRefused,
  kUpstreamConnectTimeout,
  kUpstreamConnectError,
  kUpstreamTlsError,  // connected, but the TLS handshake failed (untrusted, wrong name)
  kUpstreamReset,
  kNoHealthyEndpoint,
  kIdleTimeout,
  kClientReset,
  kDrained,
  // Closed after a flush that the peer did not take within the delayed close timeout.
  kDelayedCloseTimeout,
};

inline const char* failureCauseName(FailureCause cause) {
  switch (cause) {
    case FailureCause::kNone:
      return "none";
    case FailureCause::kUpstreamConnectRefused:
      return "upstream_connect_refused";
    case FailureCause::kUpstreamConnectTimeout:
      return "upstream_connect_timeout";
    case FailureCause::kUpstreamConnectError:
      return "upstream_connect_error";
    case FailureCause::kUpstreamTlsError:
      return "upstream_tls_error";
    case FailureCause::kUpstreamReset:
      return "upstream_reset";
    case FailureCause::kNoHealthyEndpoint:
      return "no_healthy_endpoint";
    case FailureCause::kIdleTimeout:
      return "idle_timeout";
    case FailureCause::kClientReset:
      return "client_reset";
    case FailureCause::kDrained:
      return "drained";
    case FailureCause::kDelayedCloseTimeout:
      return "delayed_close_timeout";
  }
  return "unknown";
}

// Facts about one downstream connection that filters leave for each other and for the
// access log: a proxying filter records its upstream and any failure, and `stats` reads them
// when the connection closes. Owned by the connection; used on its worker only.
struct ConnectionInfo {
  std::chrono::steady_clock::time_point start_time;
  uint64_t bytes_received = 0;  // from the downstream peer
  uint64_t bytes_sent = 0;      // to the downstream peer
  // Of bytes_received + bytes_sent, those moved by splice(2) (Connection::startSplice).
  uint64_t bytes_spliced = 0;
  std::string upstream_cluster;
  Address upstream_address;
  FailureCause failure = FailureCause::kNone;
};

}  // namespace proxy::network
