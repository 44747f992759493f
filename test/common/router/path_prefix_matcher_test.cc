#include "common/router/path_prefix_matcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace proxy::router {
namespace {

constexpr size_t kNone = PathPrefixMatcher::kNoMatch;

// The definition the matcher must agree with: the rules in order, first match wins.
size_t linearScan(const std::vector<PathPrefixMatcher::Rule>& rules, std::string_view host,
                  std::string_view path) {
  for (size_t i = 0; i < rules.size(); ++i) {
    if ((rules[i].host.empty() || rules[i].host == host) && path.starts_with(rules[i].prefix)) {
      return i;
    }
  }
  return kNone;
}

struct Request {
  const char* host;
  const char* path;
  size_t expected;
};

void expectMatches(const std::vector<PathPrefixMatcher::Rule>& rules,
                   const std::vector<Request>& requests) {
  PathPrefixMatcher matcher(rules);
  for (const Request& r : requests) {
    SCOPED_TRACE(std::string(r.host) + " " + r.path);
    EXPECT_EQ(matcher.match(r.host, r.path), r.expected);
    EXPECT_EQ(linearScan(rules, r.host, r.path), r.expected);  // the table itself is right
  }
}

TEST(PathPrefixMatcherTest, BytePrefixFirstMatch) {
  expectMatches({{"", "/users"}, {"", "/"}}, {
                                                 {"", "/users", 0},
                                                 {"", "/users/42", 0},
                                                 {"", "/users2", 0},  // a byte prefix
                                                 {"", "/user", 1},
                                                 {"", "/", 1},
                                                 {"x.com", "/users", 0},
                                             });
}

TEST(PathPrefixMatcherTest, EarlierBroaderRuleShadowsLaterNarrowerOne) {
  expectMatches({{"", "/"}, {"", "/users"}}, {
                                                 {"", "/users", 0},
                                                 {"", "/other", 0},
                                             });
}

TEST(PathPrefixMatcherTest, LaterBroaderRuleDoesNotShadowEarlierNarrowerOne) {
  expectMatches({{"", "/api/v2"}, {"", "/api"}, {"", "/"}}, {
                                                                {"", "/api/v2/x", 0},
                                                                {"", "/api/v1/x", 1},
                                                                {"", "/api", 1},
                                                                {"", "/ap", 2},
                                                            });
}

TEST(PathPrefixMatcherTest, HostScopedRulesInterleavedWithHostlessOnes) {
  std::vector<PathPrefixMatcher::Rule> rules = {
      {"admin.localhost", "/users"},  // 0
      {"", "/users/public"},          // 1: host-less, after a host rule it is shadowed by
      {"localhost", "/https"},        // 2
      {"", "/health"},                // 3
      {"admin.localhost", "/"},       // 4
      {"localhost", "/health/deep"},  // 5: shadowed by 3 for every host
      {"", "/"},                      // 6
      {"localhost", "/"},             // 7: shadowed by 6
  };
  expectMatches(rules, {
                           {"admin.localhost", "/users/public", 0},
                           {"localhost", "/users/public", 1},
                           {"", "/users/public", 1},
                           {"admin.localhost", "/health", 3},
                           {"admin.localhost", "/x", 4},
                           {"localhost", "/https/x", 2},
                           {"localhost", "/health/deep", 3},
                           {"localhost", "/x", 6},
                           {"other.example", "/users", 6},
                           {"", "/", 6},
                       });
}

TEST(PathPrefixMatcherTest, HostOnlyRulesAndNoMatch) {
  std::vector<PathPrefixMatcher::Rule> rules = {
      {"a.com", "/x"},
      {"b.com", "/"},
  };
  expectMatches(rules, {
                           {"a.com", "/x/1", 0},
                           {"a.com", "/y", kNone},
                           {"b.com", "/anything", 1},
                           {"c.com", "/", kNone},
                           {"", "/", kNone},
                       });
}

TEST(PathPrefixMatcherTest, NoRulesMatchNothing) {
  PathPrefixMatcher matcher({});
  EXPECT_EQ(matcher.match("", "/"), kNone);
  EXPECT_EQ(matcher.match("a.com", "/x"), kNone);
}

TEST(PathPrefixMatcherTest, DuplicateRulesFirstWins) {
  expectMatches({{"a.com", "/x"}, {"a.com", "/x"}, {"", "/x"}, {"", "/x"}},
                {{"a.com", "/x", 0}, {"b.com", "/x", 2}});
}

// docs/behaviour.md §2: the lookup structures keep exactly the first-match result. Random rules
// against random requests, compared with the linear scan. Hosts come from a small set and
// prefixes from a small alphabet; a rule is often an earlier rule's prefix made longer (a
// later narrower rule, shadowed) or shorter (a later broader rule, which must not shadow the
// earlier one). Half the requests extend some rule's prefix, so rules deep in the list get
// their turn.
TEST(PathPrefixMatcherTest, MatchesLinearScanOnRandomRules) {
  const std::vector<std::string> rule_hosts = {"",      "",      "",      "a.com",
                                               "b.com", "c.com", "d.com", "e.example"};
  const std::vector<std::string> request_hosts = {"",      "a.com", "b.com",     "c.com",
                                                  "d.com", "e.com", "e.example", "unknown"};
  const std::string alphabet = "abcde/";
  std::mt19937 random(424242);
  auto pick = [&](size_t n) { return static_cast<size_t>(random() % n); };
  auto extend = [&](std::string text, size_t min_extra, size_t max_extra) {
    for (size_t n = min_extra + pick(max_extra - min_extra + 1); n > 0; --n) {
      text += alphabet[pick(alphabet.size())];
    }
    return text;
  };
  for (size_t rule_count : {1u, 10u, 100u, 2000u}) {
    std::vector<PathPrefixMatcher::Rule> rules;
    for (size_t i = 0; i < rule_count; ++i) {
      std::string host = rule_hosts[pick(rule_hosts.size())];
      std::string prefix;
      size_t kind = pick(10);
      if (pick(500) == 0) {
        // Now and then a host's catch-all, which shadows every later rule of that host.
        host = rule_hosts[3 + pick(rule_hosts.size() - 3)];
        prefix = "/";
      } else if (kind < 4 || rules.empty()) {
        prefix = extend("/", 2, 7);
      } else if (kind < 7) {
        prefix = extend(rules[pick(rules.size())].prefix, 1, 3);
      } else {
        const std::string& earlier = rules[pick(rules.size())].prefix;
        prefix = earlier.substr(0, std::max<size_t>(3, earlier.size() - 1 - pick(3)));
      }
      rules.push_back({host, prefix});
    }
    PathPrefixMatcher matcher(rules);
    size_t matched = 0;
    std::set<size_t> winners;
    for (int q = 0; q < 10000; ++q) {
      const std::string& host = request_hosts[pick(request_hosts.size())];
      std::string path =
          q % 2 == 0 ? extend("/", 0, 9) : extend(rules[pick(rules.size())].prefix, 0, 3);
      size_t expected = linearScan(rules, host, path);
      ASSERT_EQ(matcher.match(host, path), expected)
          << "host \"" << host << "\" path \"" << path << "\" with " << rule_count << " rules";
      matched += expected != kNone ? 1 : 0;
      winners.insert(expected);
    }
    // The comparison means something only if requests both match and miss, and many
    // different rules win (not just a catch-all near the top).
    std::cout << rule_count << " rules: " << matched << " of 10000 requests matched, "
              << winners.size() << " different results\n";
    EXPECT_GT(matched, rule_count == 1 ? 0u : 1000u);
    EXPECT_LT(matched, 10000u);
    EXPECT_GE(winners.size(), std::min<size_t>(rule_count / 4, 200));
  }
}

}  // namespace
}  // namespace proxy::router
