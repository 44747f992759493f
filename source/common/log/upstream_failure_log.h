#pragma once

#include <string_view>

#include "api/log/logger.h"
#include "api/network/address.h"

namespace proxy::log {

// The one line an upstream connect or TLS handshake failure writes, with its cause word
// (the metric and access log name) and why, in the words of the system or of OpenSSL:
//   "upstream_tls_error: listener web cluster api endpoint 10.0.0.7:8443: certificate verify
//    failed: unable to get local issuer certificate"
// A local resource failure (the proxy out of descriptors) is written at error level with a
// hint; the others at warn.
void logUpstreamFailure(Logger& logger, std::string_view cause, std::string_view listener,
                        std::string_view cluster, const network::Address& endpoint,
                        std::string_view reason);

}  // namespace proxy::log
