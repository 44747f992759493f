#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/network/address.h"

namespace proxy::http {

// Why a request failed, shared by metrics and the access log (docs/behaviour.md §3). The codec's
// rejections are kRequestRejected with `rejection` saying which rule ("header_too_large").
enum class RequestFailure {
  kNone,
  kNoRoute,
  kNoHealthyEndpoint,
  kUpstreamConnectRefused,
  kUpstreamConnectTimeout,
  kUpstreamConnectError,
  kUpstreamTlsError,  // connected, but the TLS handshake failed: the request was never sent
  kUpstreamResponseTimeout,
  kUpstreamReset,
  kUpstreamProtocolError,
  kClientReset,
  kRequestRejected,
  // No byte either way for stream_idle_timeout while the request was in flight.
  kStreamIdleTimeout,
  // The proxy itself could not open an upstream socket (EMFILE, ENFILE, ENOBUFS, ENOMEM):
  // nothing to do with the upstream, which keeps its health.
  kLocalResourceExhausted,
  // The request body arrived slower than request_body_min_rate over a whole window.
  kRequestBodyMinRate,
};

// How many RequestFailure values there are (kNone included), for arrays indexed by it.
constexpr size_t kRequestFailureCount =
    static_cast<size_t>(RequestFailure::kRequestBodyMinRate) + 1;

inline const char* requestFailureName(RequestFailure failure) {
  switch (failure) {
    case RequestFailure::kNone:
      return "none";
    case RequestFailure::kNoRoute:
      return "no_route";
    case RequestFailure::kNoHealthyEndpoint:
      return "no_healthy_endpoint";
    case RequestFailure::kUpstreamConnectRefused:
      return "upstream_connect_refused";
    case RequestFailure::kUpstreamConnectTimeout:
      return "upstream_connect_timeout";
    case RequestFailure::kUpstreamConnectError:
      return "upstream_connect_error";
    case RequestFailure::kUpstreamTlsError:
      return "upstream_tls_error";
    case RequestFailure::kUpstreamResponseTimeout:
      return "upstream_response_timeout";
    case RequestFailure::kUpstreamReset:
      return "upstream_reset";
    case RequestFailure::kUpstreamProtocolError:
      return "upstream_protocol_error";
    case RequestFailure::kClientReset:
      return "client_reset";
    case RequestFailure::kRequestRejected:
      return "request_rejected";
    case RequestFailure::kStreamIdleTimeout:
      return "stream_idle_timeout";
    case RequestFailure::kLocalResourceExhausted:
      return "local_resource_exhausted";
    case RequestFailure::kRequestBodyMinRate:
      return "request_body_min_rate";
  }
  return "unknown";
}

// Facts about one request, filled in by the connection manager and the filters, read by
// `stats` and the access log when the stream ends. Owned by the stream; one worker.
struct StreamInfo {
  std::chrono::steady_clock::time_point start_time;
  std::string route_name;    // the rule that matched, "" if none
  std::string cluster_name;  // where it was sent, "" if nowhere
  network::Address upstream_address;
  int response_code = 0;  // 0 until a response started
  uint64_t request_body_bytes = 0;
  uint64_t response_body_bytes = 0;
  RequestFailure failure = RequestFailure::kNone;
  std::string rejection;  // the codec's reason with kRequestRejected
  // When the terminal filter handed over the upstream's response headers; the epoch (zero)
  // when it never did (a local reply, or no response).
  std::chrono::steady_clock::time_point response_headers_time{};
};

}  // namespace proxy::http
