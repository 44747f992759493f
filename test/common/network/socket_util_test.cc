#include "common/network/socket_util.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace proxy::network {
namespace {

std::vector<std::string> shown(const std::vector<Address>& addresses) {
  std::vector<std::string> out;
  for (const Address& address : addresses) {
    out.push_back(address.asString());
  }
  return out;
}

// RFC 6761 §6.3, whatever /etc/hosts says (a stock Debian one puts ::1 first).
TEST(ResolveAddressesTest, LocalhostIsLoopbackBothFamiliesIPv4First) {
  const std::vector<std::string> expected{"127.0.0.1:8081", "[::1]:8081"};
  EXPECT_EQ(expected, shown(resolveAddresses("localhost", 8081)));
  EXPECT_EQ(expected, shown(resolveAddresses("LocalHost", 8081)));
  EXPECT_EQ(expected, shown(resolveAddresses("localhost.", 8081)));
  EXPECT_EQ(expected, shown(resolveAddresses("app.localhost", 8081)));
  EXPECT_EQ(expected, shown(resolveAddresses("a.b.LOCALHOST.", 8081)));
}

TEST(ResolveAddressesTest, NamesThatOnlyEndLikeLocalhostAreNotLoopbackByRule) {
  // Not under .localhost: asked of the resolver (which has no such names here).
  const std::vector<std::string> loopback{"127.0.0.1:80", "[::1]:80"};
  EXPECT_NE(loopback, shown(resolveAddresses("mylocalhost.invalid", 80)));
  EXPECT_NE(loopback, shown(resolveAddresses("localhost.invalid", 80)));
}

TEST(ResolveAddressesTest, LiteralsResolveToThemselves) {
  EXPECT_EQ(std::vector<std::string>{"127.0.0.1:80"}, shown(resolveAddresses("127.0.0.1", 80)));
  EXPECT_EQ(std::vector<std::string>{"[::1]:80"}, shown(resolveAddresses("::1", 80)));
}

}  // namespace
}  // namespace proxy::network
