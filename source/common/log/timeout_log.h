#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "api/log/logger.h"
#include "api/network/address.h"

namespace proxy::log {

// A duration the way config files write it: "10s", "250ms", "1m30s", "0s".
std::string formatDuration(std::chrono::milliseconds duration);

// The one line every timeout writes at info level when it fires (docs/behaviour.md §3), e.g.
// "timeout request_headers_timeout (10s) fired: listener web client 127.0.0.1:5555".
// `name` is the config field that sets it.
void logTimeout(Logger& logger, std::string_view name, std::chrono::milliseconds duration,
                std::string_view listener, const network::Address& client);

}  // namespace proxy::log
