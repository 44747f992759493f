#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/network/address.h"

namespace proxy::network {

// Resolves a host name or IP literal to every address (A and AAAA) in the resolver's order
// (getaddrinfo; blocks: never on a worker). "localhost" and "*.localhost" are 127.0.0.1 then
// ::1 without asking (RFC 6761 §6.3). Returns an empty list if it does not resolve.
std::vector<Address> resolveAddresses(const std::string& host, uint16_t port);
// Whether resolveAddresses() answers `host` without asking a name server: an IP literal, or
// localhost (RFC 6761).
bool resolvesWithoutLookup(const std::string& host);

// A listening socket bound to `host:port` (an empty host is every interface, IPv4 and IPv6
// through one dual-stack socket). Throws std::runtime_error naming the address and the
// reason ("address already in use") on failure.
struct ListenSocket {
  int fd = -1;
  Address address;  // the bound address; its port is the real one when 0 was asked for
};
ListenSocket createListenSocket(const std::string& host, uint16_t port, int backlog = 4096);

}  // namespace proxy::network
