#include "common/router/request_target.h"

#include <gtest/gtest.h>

namespace proxy::router {
namespace {

using Form = RequestTarget::Form;

struct TargetCase {
  const char* target;
  Form form;
  const char* authority;
  const char* path;
  const char* query;
};

TEST(RequestTargetTest, SplitsEachForm) {
  const TargetCase cases[] = {
      {"/", Form::kOrigin, "", "/", ""},
      {"/a/b", Form::kOrigin, "", "/a/b", ""},
      {"/a/b?x=1&y=/..", Form::kOrigin, "", "/a/b", "?x=1&y=/.."},
      {"/?", Form::kOrigin, "", "/", "?"},
      {"/a%2Fb", Form::kOrigin, "", "/a%2Fb", ""},
      {"http://example.com/a?b", Form::kAbsolute, "example.com", "/a", "?b"},
      {"HTTPS://Example.com:8443/a", Form::kAbsolute, "Example.com:8443", "/a", ""},
      {"http://example.com", Form::kAbsolute, "example.com", "/", ""},
      {"http://example.com?q", Form::kAbsolute, "example.com", "/", "?q"},
      {"http://user:pw@example.com/x", Form::kAbsolute, "example.com", "/x", ""},
      {"http://[::1]:8021/x", Form::kAbsolute, "[::1]:8021", "/x", ""},
      {"*", Form::kOther, "", "", ""},
      {"example.com:443", Form::kOther, "", "", ""},
      {"ftp://example.com/x", Form::kOther, "", "", ""},
      {"", Form::kOther, "", "", ""},
  };
  for (const TargetCase& c : cases) {
    SCOPED_TRACE(c.target);
    RequestTarget parsed = parseRequestTarget(c.target);
    EXPECT_EQ(parsed.form, c.form);
    EXPECT_EQ(parsed.authority, c.authority);
    EXPECT_EQ(parsed.path, c.path);
    EXPECT_EQ(parsed.query, c.query);
  }
}

}  // namespace
}  // namespace proxy::router
