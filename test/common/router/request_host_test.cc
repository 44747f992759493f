#include "common/router/request_host.h"

#include <gtest/gtest.h>

#include <string>

namespace proxy::router {
namespace {

struct HostCase {
  const char* input;
  const char* expected;
};

TEST(RequestHostTest, NormalizesAsRoutingCompares) {
  const HostCase cases[] = {
      {"example.com", "example.com"},
      {"Example.COM", "example.com"},
      {"example.com:8021", "example.com"},
      {"example.com:", "example.com"},
      {"example.com.", "example.com"},
      {"Example.Com.:80", "example.com"},
      {"admin.localhost:8021", "admin.localhost"},
      {"127.0.0.1:8021", "127.0.0.1"},
      {"[::1]:8021", "[::1]"},
      {"[::1]", "[::1]"},
      {"[2001:DB8::1]:443", "[2001:db8::1]"},
      {"::1", "[::1]"},  // a bare IPv6 literal, as a config may write it
      {"2001:db8::1", "[2001:db8::1]"},
      {"", ""},
      {":8021", ""},
      {"localhost", "localhost"},
      {"under_score.internal", "under_score.internal"},
  };
  for (const HostCase& c : cases) {
    EXPECT_EQ(normalizeHost(c.input), c.expected) << "input: \"" << c.input << "\"";
  }
}

TEST(RequestHostTest, ConfigHostNames) {
  for (const char* good :
       {"example.com", "a", "127.0.0.1", "[::1]", "[2001:db8::1]", "docker_service", "a-b.c"}) {
    EXPECT_TRUE(isHostName(good)) << good;
  }
  for (const char* bad : {"", ".", ".example.com", "example.com.", "exa mple.com", "a/b",
                          "*.example.com", "Example.com", "[]", "[::1", "[zz::1]", "a@b"}) {
    EXPECT_FALSE(isHostName(bad)) << bad;
  }
}

}  // namespace
}  // namespace proxy::router
