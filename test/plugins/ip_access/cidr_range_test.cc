#include "plugins/ip_access/cidr_range.h"

#include <gtest/gtest.h>

#include <string>

namespace proxy::plugins::ip_access {
namespace {

// A socket address for `ip` (IPv4 or IPv6 text), port 1234.
network::Address address(const std::string& ip) {
  if (ip.find(':') == std::string::npos) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(1234);
    EXPECT_EQ(1, inet_pton(AF_INET, ip.c_str(), &sin.sin_addr)) << ip;
    return network::Address(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(1234);
  EXPECT_EQ(1, inet_pton(AF_INET6, ip.c_str(), &sin6.sin6_addr)) << ip;
  return network::Address(reinterpret_cast<sockaddr*>(&sin6), sizeof(sin6));
}

CidrRange range(const std::string& text) {
  std::string error;
  std::optional<CidrRange> parsed = CidrRange::parse(text, error);
  EXPECT_TRUE(parsed.has_value()) << text << ": " << error;
  return parsed.value_or(CidrRange());
}

// The parse error for `text`, or "(no error)".
std::string parseError(const std::string& text) {
  std::string error;
  return CidrRange::parse(text, error) ? "(no error)" : error;
}

TEST(CidrRangeTest, ParsesIpv4AndIpv6Ranges) {
  EXPECT_EQ("10.0.0.0/8", range("10.0.0.0/8").asString());
  EXPECT_EQ(AF_INET, range("10.0.0.0/8").family());
  EXPECT_EQ("2001:db8::/32", range("2001:db8::/32").asString());
  EXPECT_EQ(AF_INET6, range("2001:db8::/32").family());
  EXPECT_EQ("0.0.0.0/0", range("0.0.0.0/0").asString());
  EXPECT_EQ("::/0", range("::/0").asString());
  EXPECT_EQ("192.168.1.0/25", range("192.168.1.0/25").asString());
}

TEST(CidrRangeTest, ABareAddressIsASingleHost) {
  EXPECT_EQ("127.0.0.2/32", range("127.0.0.2").asString());
  EXPECT_EQ("::1/128", range("::1").asString());
}

TEST(CidrRangeTest, RefusesHostBitsNamingTheNetwork) {
  // The last bit of abcd is inside a /47's host part.
  EXPECT_EQ(
      "expected a network address with no host bits set, found \"2001:db8:abcd::/47\" "
      "(the network is 2001:db8:abcc::/47)",
      parseError("2001:db8:abcd::/47"));
  EXPECT_EQ(
      "expected a network address with no host bits set, found \"10.1.2.3/8\" (the "
      "network is 10.0.0.0/8)",
      parseError("10.1.2.3/8"));
  EXPECT_EQ(
      "expected a network address with no host bits set, found \"192.168.1.128/24\" (the "
      "network is 192.168.1.0/24)",
      parseError("192.168.1.128/24"));
  EXPECT_EQ(
      "expected a network address with no host bits set, found \"2001:db8::1/64\" (the "
      "network is 2001:db8::/64)",
      parseError("2001:db8::1/64"));
}

TEST(CidrRangeTest, RefusesBadPrefixLengths) {
  EXPECT_EQ("expected a prefix length from 0 to 32, found 33", parseError("10.0.0.0/33"));
  EXPECT_EQ("expected a prefix length from 0 to 128, found 129", parseError("::/129"));
  EXPECT_EQ("expected a prefix length after '/', found \"\"", parseError("10.0.0.0/"));
  EXPECT_EQ("expected a prefix length after '/', found \"-1\"", parseError("10.0.0.0/-1"));
  EXPECT_EQ("expected a prefix length after '/', found \" 8\"", parseError("10.0.0.0/ 8"));
  EXPECT_EQ("expected a prefix length after '/', found \"0008\"", parseError("10.0.0.0/0008"));
  EXPECT_EQ("expected a prefix length after '/', found \"8/8\"", parseError("10.0.0.0/8/8"));
}

TEST(CidrRangeTest, RefusesWhatIsNotAnAddress) {
  for (const char* text : {"", "/8", "localhost", "10.1/16", "10.0.0.256/32", "010.0.0.0/8",
                           "1.2.3.4.5", "[::1]/128", "::1%lo/128", " 10.0.0.0/8"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(std::string("expected an IPv4 or IPv6 address or range (\"10.0.0.0/8\", "
                          "\"2001:db8::/32\"), found \"") +
                  text + "\"",
              parseError(text));
  }
}

TEST(CidrRangeTest, RefusesIpv4MappedRanges) {
  EXPECT_EQ(
      "expected an IPv4 range written as IPv4 (clients at ::ffff:a.b.c.d are matched as "
      "a.b.c.d), found an IPv4-mapped IPv6 address",
      parseError("::ffff:10.0.0.0/104"));
}

TEST(CidrRangeTest, ContainsAddressesInsideThePrefixOnly) {
  CidrRange net = range("192.168.1.0/25");
  EXPECT_TRUE(net.contains(address("192.168.1.0")));
  EXPECT_TRUE(net.contains(address("192.168.1.127")));
  EXPECT_FALSE(net.contains(address("192.168.1.128")));
  EXPECT_FALSE(net.contains(address("192.168.0.1")));
  EXPECT_TRUE(range("0.0.0.0/0").contains(address("203.0.113.9")));
  EXPECT_TRUE(range("127.0.0.1").contains(address("127.0.0.1")));
  EXPECT_FALSE(range("127.0.0.1").contains(address("127.0.0.2")));

  CidrRange v6 = range("2001:db8:abcc::/47");
  EXPECT_TRUE(v6.contains(address("2001:db8:abcc::1")));
  EXPECT_TRUE(v6.contains(address("2001:db8:abcd:ffff::1")));
  EXPECT_FALSE(v6.contains(address("2001:db8:abce::1")));
}

TEST(CidrRangeTest, FamiliesNeverMatchEachOther) {
  EXPECT_FALSE(range("::/0").contains(address("10.0.0.1")));
  EXPECT_FALSE(range("0.0.0.0/0").contains(address("::1")));
  EXPECT_FALSE(range("0.0.0.0/0").contains(network::Address()));
}

TEST(CidrRangeTest, Ipv4MappedClientsMatchAsIpv4) {
  EXPECT_TRUE(range("10.0.0.0/8").contains(address("::ffff:10.1.2.3")));
  EXPECT_FALSE(range("10.0.0.0/8").contains(address("::ffff:11.1.2.3")));
  EXPECT_FALSE(range("::/0").contains(address("::ffff:10.1.2.3")));
}

}  // namespace
}  // namespace proxy::plugins::ip_access
