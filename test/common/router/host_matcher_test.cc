#include "common/router/host_matcher.h"

#include <gtest/gtest.h>

namespace proxy::router {
namespace {

constexpr size_t kNone = HostMatcher::kNoMatch;

struct HostMatchCase {
  const char* host;
  size_t expected;
};

TEST(HostMatcherTest, ExactThenLongestWildcard) {
  HostMatcher matcher;
  ASSERT_TRUE(matcher.add("*.example.com", 0));
  ASSERT_TRUE(matcher.add("api.example.com", 1));
  ASSERT_TRUE(matcher.add("*.api.example.com", 2));
  ASSERT_TRUE(matcher.add("example.com", 3));
  ASSERT_TRUE(matcher.add("[::1]", 4));
  const HostMatchCase cases[] = {
      {"example.com", 3},         // exact; "*.example.com" needs at least one more label
      {"api.example.com", 1},     // exact beats "*.example.com"
      {"v1.api.example.com", 2},  // the longer wildcard suffix beats the shorter
      {"a.b.api.example.com", 2},
      {"www.example.com", 0},
      {"a.b.example.com", 0},  // one or more labels
      {"api.example.org", kNone},
      {"xexample.com", kNone},  // a wildcard matches whole labels only
      {"com", kNone},
      {".example.com", kNone},  // an empty label is not a label
      {"", kNone},
      {"[::1]", 4},
  };
  for (const HostMatchCase& c : cases) {
    EXPECT_EQ(matcher.match(c.host), c.expected) << c.host;
  }
}

TEST(HostMatcherTest, PatternGivenTwiceIsRefused) {
  HostMatcher matcher;
  EXPECT_TRUE(matcher.add("a.com", 0));
  EXPECT_FALSE(matcher.add("a.com", 1));
  EXPECT_TRUE(matcher.add("*.a.com", 1));
  EXPECT_FALSE(matcher.add("*.a.com", 2));
  EXPECT_EQ(matcher.match("a.com"), 0u);
  EXPECT_EQ(matcher.match("x.a.com"), 1u);
}

TEST(HostMatcherTest, EmptyMatchesNothing) {
  HostMatcher matcher;
  EXPECT_EQ(matcher.match("a.com"), kNone);
  EXPECT_EQ(matcher.match(""), kNone);
}

}  // namespace
}  // namespace proxy::router
