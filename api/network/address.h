#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace proxy::network {

// An IPv4 or IPv6 socket address: a small value type (32 bytes, not the 128 of a
// sockaddr_storage, since every connection holds a few), cheap to copy.
class Address {
 public:
  Address() = default;
  // Anything but AF_INET and AF_INET6 gives an invalid address.
  Address(const sockaddr* sa, socklen_t len) {
    if ((sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) ||
        (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6))) {
      len = sa->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
      std::memcpy(&storage_, sa, len);
      len_ = len;
    }
  }

  bool valid() const { return len_ != 0; }
  int family() const { return len_ == 0 ? AF_UNSPEC : storage_.family; }
  const sockaddr* sockAddr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t sockAddrLen() const { return len_; }

  uint16_t port() const {
    if (family() == AF_INET) {
      return ntohs(storage_.in4.sin_port);
    }
    if (family() == AF_INET6) {
      return ntohs(storage_.in6.sin6_port);
    }
    return 0;
  }

  // The IP alone, IPv4-mapped IPv6 shown as IPv4 ("10.0.0.1", "::1").
  std::string ip() const {
    if (family() == AF_INET) {
      return ipv4Text(reinterpret_cast<const uint8_t*>(&storage_.in4.sin_addr));
    }
    if (family() == AF_INET6) {
      const sockaddr_in6* in6 = &storage_.in6;
      if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
        return ipv4Text(&in6->sin6_addr.s6_addr[12]);
      }
      char text[INET6_ADDRSTRLEN] = {0};
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
      return text;
    }
    return {};
  }

  // "10.0.0.1:80" or "[::1]:80".
  std::string asString() const {
    if (!valid()) {
      return "-";
    }
    std::string host = ip();
    if (host.find(':') != std::string::npos) {
      host = "[" + host + "]";
    }
    return host + ":" + std::to_string(port());
  }

  bool operator==(const Address& other) const {
    return len_ == other.len_ && std::memcmp(&storage_, &other.storage_, len_) == 0;
  }

 private:
  // Dotted quad without inet_ntop, whose sprintf showed in the per-request profile (the
  // router writes the client's IP into X-Forwarded-For on every request).
  static std::string ipv4Text(const uint8_t* octets) {
    std::string text;
    text.reserve(15);
    for (int i = 0; i < 4; ++i) {
      if (i > 0) {
        text.push_back('.');
      }
      uint8_t octet = octets[i];
      if (octet >= 100) {
        text.push_back(static_cast<char>('0' + octet / 100));
      }
      if (octet >= 10) {
        text.push_back(static_cast<char>('0' + octet / 10 % 10));
      }
      text.push_back(static_cast<char>('0' + octet % 10));
    }
    return text;
  }

  union Storage {
    sockaddr_in in4;
    sockaddr_in6 in6;
    sa_family_t family;
  };
  Storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace proxy::network
