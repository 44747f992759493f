#pragma once

#include <cstdint>

#include "api/network/address.h"

namespace proxy::test {

// Socket addresses from text, for tests: "10.0.0.1" and "::1" (anything else is an invalid
// address, which a test would notice at once).
network::Address ipv4(const char* ip, uint16_t port);
network::Address ipv6(const char* ip, uint16_t port);

}  // namespace proxy::test
