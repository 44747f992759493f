#pragma once

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>

#include "api/network/address.h"

namespace proxy::network {

// Why a proxied connection or request failed, one fixed vocabulary shared by logs and
// metrics (docs/behaviour.md §3). kNone means it did not fail.
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
  // The proxy could not open the upstream socket (see isLocalResourceError): not the
  // upstream's fault, so no passive-health penalty.
  kLocalResourceExhausted,
  // Closed after a flush that the peer did not take within the delayed close timeout.
  kDelayedCloseTimeout,
};

// Whether a connect's errno says the proxy itself is out of descriptors or kernel memory
// (socket(2) failing with EMFILE, ENFILE, ENOBUFS, ENOMEM) rather than anything about the
// upstream: every endpoint would fail the same way, and none should be ejected for it.
inline bool isLocalResourceError(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

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
    case FailureCause::kLocalResourceExhausted:
      return "local_resource_exhausted";
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
