#include "server/config/host_port.h"

#include <gtest/gtest.h>

namespace proxy::server {
namespace {

TEST(HostPortTest, ParsesEveryForm) {
  struct Case {
    const char* text;
    const char* host;
    uint16_t port;
  };
  for (auto [text, host, port] :
       {Case{":8020", "", 8020}, Case{"127.0.0.1:8020", "127.0.0.1", 8020},
        Case{"[::1]:8020", "::1", 8020}, Case{"localhost:80", "localhost", 80}, Case{":0", "", 0},
        Case{":65535", "", 65535}, Case{"my_service-1.internal:9", "my_service-1.internal", 9},
        Case{"[fe80::1%eth0]:80", "fe80::1%eth0", 80},
        Case{"[::ffff:10.0.0.1]:1", "::ffff:10.0.0.1", 1}}) {
    auto parsed = parseHostPort(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(parsed->host, host) << text;
    EXPECT_EQ(parsed->port, port) << text;
  }
}

TEST(HostPortTest, RejectsMalformedAddresses) {
  for (const char* text : {"",          "8020",    "localhost",    "localhost:",
                           ":",         ":65536",  ":99999999999", ":80a",
                           ":-1",       ":+80",    "::1:80",       "[::1]",
                           "[::1:80",   "::1]:80", "[]:80",        "[localhost]:80",
                           "[::1]x:80", "a b:80",  "a/b:80",       "user@host:80",
                           " :80",      ":80 ",    "*:80",         "http://a:80"}) {
    EXPECT_FALSE(parseHostPort(text).has_value()) << text;
  }
}

TEST(HostPortTest, ToStringWritesTheCanonicalForm) {
  EXPECT_EQ((HostPort{"", 8020}).toString(), ":8020");
  EXPECT_EQ((HostPort{"127.0.0.1", 80}).toString(), "127.0.0.1:80");
  EXPECT_EQ((HostPort{"::1", 8020}).toString(), "[::1]:8020");
  EXPECT_EQ((HostPort{"example.com", 0}).toString(), "example.com:0");
  for (const char* text : {":8020", "127.0.0.1:80", "[::1]:8020", "[fe80::1%eth0]:1"}) {
    EXPECT_EQ(parseHostPort(text)->toString(), text);
  }
}

TEST(HostPortTest, WildcardIsTheEmptyHost) {
  EXPECT_TRUE(parseHostPort(":80")->wildcard());
  EXPECT_FALSE(parseHostPort("0.0.0.0:80")->wildcard());
}

TEST(HostPortTest, AnyAndLocalHosts) {
  for (const char* host : {"", "0.0.0.0", "::"}) {
    EXPECT_TRUE(isAnyHost(host)) << host;
  }
  EXPECT_FALSE(isAnyHost("127.0.0.1"));
  for (const char* host : {"localhost", "LOCALHOST", "localhost.", "admin.localhost", "127.0.0.1",
                           "127.1.2.3", "::1", "0.0.0.0", "::"}) {
    EXPECT_TRUE(isLocalHost(host)) << host;
  }
  for (const char* host :
       {"", "10.0.0.1", "example.com", "127.example.com", "notlocalhost", "::2"}) {
    EXPECT_FALSE(isLocalHost(host)) << host;
  }
}

}  // namespace
}  // namespace proxy::server
