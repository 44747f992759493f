#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/network/address.h"

namespace proxy::plugins::ip_access {

// An IPv4 or IPv6 network, "10.0.0.0/8" or "2001:db8::/32"; a bare address is a /32 or a
// /128. Value type, immutable once parsed.
class CidrRange {
 public:
  // The range `text` names, or nullopt with `error` saying what is wrong: not an address, a
  // prefix length out of range, host bits set ("10.0.0.1/8": the network is 10.0.0.0/8), or
  // an IPv4-mapped IPv6 range (write those as IPv4; clients are matched as IPv4 anyway).
  static std::optional<CidrRange> parse(std::string_view text, std::string& error);

  // Whether `address` is inside. An IPv4-mapped IPv6 client (::ffff:a.b.c.d, as a dual-stack
  // listener sees IPv4 clients) is compared as the IPv4 address a.b.c.d.
  bool contains(const network::Address& address) const;

  int family() const { return family_; }
  int prefixLength() const { return prefix_length_; }
  // The canonical text, "10.0.0.0/8".
  std::string asString() const;

  bool operator==(const CidrRange& other) const {
    return family_ == other.family_ && prefix_length_ == other.prefix_length_ &&
           bytes_ == other.bytes_;
  }

 private:
  // Whether the first prefix_length_ bits of `bytes` equal the range's.
  bool matches(const uint8_t* bytes) const;

  int family_ = AF_UNSPEC;
  int prefix_length_ = 0;
  std::array<uint8_t, 16> bytes_{};  // IPv4 uses the first 4
};

}  // namespace proxy::plugins::ip_access
