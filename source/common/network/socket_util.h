#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/network/address.h"

namespace proxy::network {

// Resolves a host name or IP literal to addresses (getaddrinfo; blocks: main thread only).
// Returns an empty list if it does not resolve.
std::vector<Address> resolveAddresses(const std::string& host, uint16_t port);

// A listening socket bound to `host:port` (an empty host is every interface, IPv4 and IPv6
// through one dual-stack socket). Throws std::runtime_error naming the address and the
// reason ("address already in use") on failure.
struct ListenSocket {
  int fd = -1;
  Address address;  // the bound address; its port is the real one when 0 was asked for
};
ListenSocket createListenSocket(const std::string& host, uint16_t port, int backlog = 4096);

}  // namespace proxy::network
