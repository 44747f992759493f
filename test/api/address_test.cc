#include "api/network/address.h"

#include <gtest/gtest.h>

namespace proxy::network {
namespace {

Address ipv4(const char* text, uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  EXPECT_EQ(1, inet_pton(AF_INET, text, &in.sin_addr));
  return Address(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
}

Address ipv6(const char* text, uint16_t port) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  EXPECT_EQ(1, inet_pton(AF_INET6, text, &in6.sin6_addr));
  return Address(reinterpret_cast<const sockaddr*>(&in6), sizeof(in6));
}

TEST(AddressTest, Ipv4TextMatchesInetNtopForEveryOctetWidth) {
  // The dotted quad is formatted by hand (no sprintf on the request path).
  for (const char* text :
       {"0.0.0.0", "127.0.0.1", "10.1.20.100", "255.255.255.255", "9.99.100.199", "192.168.0.10"}) {
    EXPECT_EQ(text, ipv4(text, 80).ip());
  }
  EXPECT_EQ("10.0.0.1:8080", ipv4("10.0.0.1", 8080).asString());
}

TEST(AddressTest, Ipv6AndMappedIpv4) {
  EXPECT_EQ("::1", ipv6("::1", 80).ip());
  EXPECT_EQ("[2001:db8::7]:443", ipv6("2001:db8::7", 443).asString());
  EXPECT_EQ("192.0.2.33", ipv6("::ffff:192.0.2.33", 80).ip());
  EXPECT_EQ("", Address().ip());
  EXPECT_EQ("-", Address().asString());
}

}  // namespace
}  // namespace proxy::network
