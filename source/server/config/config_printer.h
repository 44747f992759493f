#pragma once

#include <chrono>
#include <string>

#include "server/config/config_model.h"

namespace proxy::server {

// The canonical YAML of a loaded config, for --print-config and /config_dump. Every setting is
// written out, defaults included; parsing the text again gives an equal Config, and printing
// that gives the same text (warnings are the caller's to report).
std::string printCanonicalConfig(const Config& config);

// A duration in Go's syntax that parses back exactly: "0s", "250ms", "1m30s", "1s500ms".
std::string formatDuration(std::chrono::milliseconds duration);

// An endpoint as the canonical form writes it: "host:port", "[v6]:port" or, with TLS,
// "https://host:port".
std::string formatEndpoint(const EndpointConfig& endpoint);

// One cluster or listener in canonical YAML, for comparing configs by content at reload:
// two elements are unchanged exactly when these texts are equal.
std::string printClusterConfig(const ClusterConfig& cluster);
std::string printListenerConfig(const ListenerConfig& listener);

}  // namespace proxy::server
