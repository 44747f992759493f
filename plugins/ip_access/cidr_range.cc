#include "cidr_range.h"

#include <arpa/inet.h>

#include <cstring>

namespace proxy::plugins::ip_access {

std::optional<CidrRange> CidrRange::parse(std::string_view text, std::string& error) {
  std::string_view address_text = text;
  std::optional<int> length;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    address_text = text.substr(0, slash);
    std::string_view digits = text.substr(slash + 1);
    // Plain decimal, at most three digits: no sign, no spaces, no "0x".
    if (digits.empty() || digits.size() > 3) {
      error = "expected a prefix length after '/', found \"" + std::string(digits) + "\"";
      return std::nullopt;
    }
    int value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') {
        error = "expected a prefix length after '/', found \"" + std::string(digits) + "\"";
        return std::nullopt;
      }
      value = value * 10 + (c - '0');
    }
    length = value;
  }

  CidrRange range;
  // inet_pton needs a terminated string; it accepts only the strict dotted-quad and RFC 4291
  // forms (no "10.1", no octal), which is what a config should say.
  const std::string address(address_text);
  in6_addr v6{};
  if (inet_pton(AF_INET, address.c_str(), range.bytes_.data()) == 1) {
    range.family_ = AF_INET;
  } else if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      error =
          "expected an IPv4 range written as IPv4 (clients at ::ffff:a.b.c.d are matched "
          "as a.b.c.d), found an IPv4-mapped IPv6 address";
      return std::nullopt;
    }
    range.family_ = AF_INET6;
    std::memcpy(range.bytes_.data(), &v6, 16);
  } else {
    error =
        "expected an IPv4 or IPv6 address or range (\"10.0.0.0/8\", \"2001:db8::/32\"), "
        "found \"" +
        std::string(text) + "\"";
    return std::nullopt;
  }

  const int max_length = range.family_ == AF_INET ? 32 : 128;
  range.prefix_length_ = length.value_or(max_length);
  if (range.prefix_length_ > max_length) {
    error = "expected a prefix length from 0 to " + std::to_string(max_length) + ", found " +
            std::to_string(range.prefix_length_);
    return std::nullopt;
  }
  // Host bits set usually means a typo ("10.1.0.0/8" meant /16?); refuse rather than guess.
  CidrRange network = range;
  for (int bit = range.prefix_length_; bit < max_length; ++bit) {
    network.bytes_[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (!(network == range)) {
    error = "expected a network address with no host bits set, found \"" + std::string(text) +
            "\" (the network is " + network.asString() + ")";
    return std::nullopt;
  }
  return range;
}

bool CidrRange::matches(const uint8_t* bytes) const {
  const int whole = prefix_length_ / 8;
  if (std::memcmp(bytes, bytes_.data(), whole) != 0) {
    return false;
  }
  const int rest = prefix_length_ % 8;
  if (rest == 0) {
    return true;
  }
  const auto mask = static_cast<uint8_t>(0xff00u >> rest);
  return (bytes[whole] & mask) == (bytes_[whole] & mask);
}

bool CidrRange::contains(const network::Address& address) const {
  if (address.family() == AF_INET) {
    if (family_ != AF_INET) {
      return false;
    }
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(address.sockAddr());
    return matches(reinterpret_cast<const uint8_t*>(&in4->sin_addr));
  }
  if (address.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address.sockAddr());
    const uint8_t* bytes = in6->sin6_addr.s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      return family_ == AF_INET && matches(bytes + 12);
    }
    return family_ == AF_INET6 && matches(bytes);
  }
  return false;
}

std::string CidrRange::asString() const {
  char text[INET6_ADDRSTRLEN] = {0};
  inet_ntop(family_, bytes_.data(), text, sizeof(text));
  return std::string(text) + "/" + std::to_string(prefix_length_);
}

}  // namespace proxy::plugins::ip_access
