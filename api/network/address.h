#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace proxy::network {

// An IPv4 or IPv6 socket address: a small value type, cheap to copy.
class Address {
 public:
  Address() = default;
  Address(const sockaddr* sa, socklen_t len) {
    if (len > sizeof(storage_)) {
      len = sizeof(storage_);
    }
    std::memcpy(&storage_, sa, len);
    len_ = len;
  }

  bool valid() const { return len_ != 0; }
  int family() const { return storage_.ss_family; }
  const sockaddr* sockAddr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t sockAddrLen() const { return len_; }

  uint16_t port() const {
    if (family() == AF_INET) {
      return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    }
    if (family() == AF_INET6) {
      return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    }
    return 0;
  }

  // The IP alone, IPv4-mapped IPv6 shown as IPv4 ("10.0.0.1", "::1").
  std::string ip() const {
    char text[INET6_ADDRSTRLEN] = {0};
    if (family() == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text,
                sizeof(text));
    } else if (family() == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
      if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
        inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], text, sizeof(text));
      } else {
        inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
      }
    }
    return text;
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
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace proxy::network
