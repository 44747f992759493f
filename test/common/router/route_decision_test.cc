#include "common/router/route_decision.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/router/path_prefix_matcher.h"
#include "common/router/route_impl.h"

namespace proxy::router {
namespace {

using Outcome = RouteDecision::Outcome;

// Rules in order over a PathPrefixMatcher, as path_prefix_router builds them.
class TestTable final : public RouteTable {
 public:
  struct Rule {
    std::string host;
    std::string prefix;
    bool strip;
  };
  explicit TestTable(const std::vector<Rule>& rules) : matcher_(matcherRules(rules)) {
    for (const Rule& rule : rules) {
      entries_.push_back(
          {std::make_shared<RouteImpl>(rule.host + rule.prefix, "test_router", nullptr, false),
           rule.strip ? rule.prefix.size() : 0});
    }
  }
  const RouteEntry* match(std::string_view host, std::string_view path) const override {
    size_t index = matcher_.match(host, path);
    return index == PathPrefixMatcher::kNoMatch ? nullptr : &entries_[index];
  }

 private:
  static std::vector<PathPrefixMatcher::Rule> matcherRules(const std::vector<Rule>& rules) {
    std::vector<PathPrefixMatcher::Rule> out;
    for (const Rule& rule : rules) {
      out.push_back({rule.host, rule.prefix});
    }
    return out;
  }
  std::vector<RouteEntry> entries_;
  PathPrefixMatcher matcher_;
};

struct DecisionCase {
  const char* host_header;
  const char* target;
  Outcome outcome;
  const char* route;  // with kRouted
  const char* path;   // with kRouted
  const char* authority;
};

TEST(RouteDecisionTest, NormalizesMatchesAndRewrites) {
  TestTable table({
      {"admin.localhost", "/users", true},
      {"admin.localhost", "/p/", true},
      {"localhost", "/https", true},
      {"admin.localhost", "/", false},
      {"", "/public", false},
  });
  const DecisionCase cases[] = {
      {"admin.localhost", "/users/42", Outcome::kRouted, "admin.localhost/users", "/42", ""},
      {"admin.localhost", "/users", Outcome::kRouted, "admin.localhost/users", "/", ""},
      {"admin.localhost", "/users2", Outcome::kRouted, "admin.localhost/users", "/2", ""},
      {"admin.localhost", "/users/42?x=1&y=/../", Outcome::kRouted, "admin.localhost/users",
       "/42?x=1&y=/../", ""},
      {"admin.localhost", "/users?x", Outcome::kRouted, "admin.localhost/users", "/?x", ""},
      {"admin.localhost", "/p/x", Outcome::kRouted, "admin.localhost/p/", "/x", ""},
      {"Admin.LOCALHOST:8021", "/users/1", Outcome::kRouted, "admin.localhost/users", "/1", ""},
      {"admin.localhost.", "/users/1", Outcome::kRouted, "admin.localhost/users", "/1", ""},
      // Dot-segments go before matching; what matched is what is forwarded.
      {"admin.localhost", "/other/../users/7", Outcome::kRouted, "admin.localhost/users", "/7", ""},
      {"admin.localhost", "/x/./y/../z?q=1", Outcome::kRouted, "admin.localhost/", "/x/z?q=1", ""},
      {"admin.localhost", "/users/../public/a", Outcome::kRouted, "admin.localhost/", "/public/a",
       ""},
      {"other", "/users/../public/a", Outcome::kRouted, "/public", "/public/a", ""},
      {"admin.localhost", "/../etc/passwd", Outcome::kBadPath, "", "", ""},
      {"admin.localhost", "/users/../../x", Outcome::kBadPath, "", "", ""},
      // Percent-encoding is not decoded.
      {"admin.localhost", "/users%2F42", Outcome::kRouted, "admin.localhost/users", "/%2F42", ""},
      {"other", "/x", Outcome::kNoRoute, "", "", ""},
      {"", "/x", Outcome::kNoRoute, "", "", ""},
      {"", "/public", Outcome::kRouted, "/public", "/public", ""},
      {"admin.localhost", "*", Outcome::kNoRoute, "", "", ""},
      {"admin.localhost", "admin.localhost:443", Outcome::kNoRoute, "", "", ""},
      // An absolute-form target's authority wins over the Host header; the target is
      // forwarded in origin form.
      {"other", "http://localhost:8021/https/posts?id=1", Outcome::kRouted, "localhost/https",
       "/posts?id=1", "localhost:8021"},
      {"", "http://Admin.Localhost/users/1", Outcome::kRouted, "admin.localhost/users", "/1",
       "Admin.Localhost"},
      {"admin.localhost", "http://other/users/1", Outcome::kNoRoute, "", "", ""},
      {"", "http://admin.localhost", Outcome::kRouted, "admin.localhost/", "/", "admin.localhost"},
  };
  for (const DecisionCase& c : cases) {
    SCOPED_TRACE(std::string(c.host_header) + " " + c.target);
    RouteDecision decision = decideRoute(table, c.host_header, c.target);
    ASSERT_EQ(decision.outcome, c.outcome);
    if (c.outcome != Outcome::kRouted) {
      EXPECT_EQ(decision.entry, nullptr);
      continue;
    }
    ASSERT_NE(decision.entry, nullptr);
    EXPECT_EQ(decision.entry->route->name(), c.route);
    EXPECT_EQ(decision.path, c.path);
    EXPECT_EQ(decision.authority, c.authority);
  }
}

}  // namespace
}  // namespace proxy::router
