#include "test/support/addresses.h"

#include <arpa/inet.h>

namespace proxy::test {

network::Address ipv4(const char* ip, uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  if (inet_pton(AF_INET, ip, &sin.sin_addr) != 1) {
    return {};
  }
  return network::Address(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
}

network::Address ipv6(const char* ip, uint16_t port) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  if (inet_pton(AF_INET6, ip, &sin6.sin6_addr) != 1) {
    return {};
  }
  return network::Address(reinterpret_cast<sockaddr*>(&sin6), sizeof(sin6));
}

}  // namespace proxy::test
