#include "common/network/socket_util.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace proxy::network {

namespace {

// RFC 6761 §6.3: "localhost" and names under it are loopback whatever /etc/hosts says (or
// without one). Both families, IPv4 first: what a service bound to "localhost" most often
// listens on, and what Go's dialer reaches first.
bool isLocalhostName(std::string_view host) {
  if (!host.empty() && host.back() == '.') {
    host.remove_suffix(1);
  }
  constexpr std::string_view kLocalhost = "localhost";
  if (host.size() < kLocalhost.size()) {
    return false;
  }
  const std::string_view tail = host.substr(host.size() - kLocalhost.size());
  for (size_t i = 0; i < kLocalhost.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(tail[i])) != kLocalhost[i]) {
      return false;
    }
  }
  return host.size() == kLocalhost.size() || host[host.size() - kLocalhost.size() - 1] == '.';
}

std::vector<Address> loopbackAddresses(uint16_t port) {
  sockaddr_in in4{};
  in4.sin_family = AF_INET;
  in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  in4.sin_port = htons(port);
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_addr = in6addr_loopback;
  in6.sin6_port = htons(port);
  return {Address(reinterpret_cast<sockaddr*>(&in4), sizeof(in4)),
          Address(reinterpret_cast<sockaddr*>(&in6), sizeof(in6))};
}

}  // namespace

bool resolvesWithoutLookup(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return isLocalhostName(host) || inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

std::vector<Address> resolveAddresses(const std::string& host, uint16_t port) {
  if (isLocalhostName(host)) {
    return loopbackAddresses(port);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // No AI_ADDRCONFIG: it hides ::1 on a machine without a global IPv6 address. Every
  // address is kept, in the order the resolver sorted them (RFC 6724: unusable ones last);
  // a connect walks past those that fail.
  addrinfo* result = nullptr;
  std::string service = std::to_string(port);
  std::vector<Address> out;
  if (getaddrinfo(host.c_str(), service.c_str(), &hints, &result) != 0) {
    return out;
  }
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    Address address(ai->ai_addr, ai->ai_addrlen);
    bool seen = false;
    for (const auto& existing : out) {
      seen = seen || existing == address;
    }
    if (!seen) {
      out.push_back(address);
    }
  }
  freeaddrinfo(result);
  return out;
}

namespace {

int bindAndListen(const Address& address, bool dual_stack, int backlog, std::string& error) {
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::strerror(errno);
    return -1;
  }
  int one = 1;
  int zero = 0;
  // SO_REUSEADDR only lets us rebind over TIME_WAIT; a live listener on the port still
  // makes bind() fail. No SO_REUSEPORT: a port held by another process is reported.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // Linux copies TCP_NODELAY to every socket accept() returns: one call here instead of
  // one per connection.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (address.family() == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual_stack ? &zero : &one, sizeof(int));
  }
  if (::bind(fd, address.sockAddr(), address.sockAddrLen()) != 0 || ::listen(fd, backlog) != 0) {
    error = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

ListenSocket createListenSocket(const std::string& host, uint16_t port, int backlog) {
  std::string error;
  int fd = -1;
  std::string shown = (host.empty() ? "" : host) + ":" + std::to_string(port);
  if (host.empty()) {
    sockaddr_in6 any6{};
    any6.sin6_family = AF_INET6;
    any6.sin6_addr = in6addr_any;
    any6.sin6_port = htons(port);
    fd = bindAndListen(Address(reinterpret_cast<sockaddr*>(&any6), sizeof(any6)), true, backlog,
                       error);
    if (fd < 0 && error != std::strerror(EADDRINUSE)) {
      // No IPv6 on this machine: every IPv4 interface.
      sockaddr_in any4{};
      any4.sin_family = AF_INET;
      any4.sin_addr.s_addr = htonl(INADDR_ANY);
      any4.sin_port = htons(port);
      fd = bindAndListen(Address(reinterpret_cast<sockaddr*>(&any4), sizeof(any4)), false, backlog,
                         error);
    }
  } else {
    auto addresses = resolveAddresses(host, port);
    if (addresses.empty()) {
      throw std::runtime_error("cannot listen on " + shown + ": host does not resolve");
    }
    fd = bindAndListen(addresses.front(), false, backlog, error);
  }
  if (fd < 0) {
    throw std::runtime_error("cannot listen on " + shown + ": " + error);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  return ListenSocket{fd, Address(reinterpret_cast<sockaddr*>(&bound), len)};
}

}  // namespace proxy::network
