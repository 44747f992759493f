#include "plugins/header_rewrite/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "api/registry/config_error.h"
#include "test/mocks/registry/mocks.h"

namespace proxy::plugins::header_rewrite {
namespace {

using testing::HasSubstr;
using testing::NiceMock;
using testing::StartsWith;

class HeaderRewriteConfigTest : public testing::Test {
 protected:
  // "field: message (line:column)" of the error `yaml` gives, or "(no error)".
  std::string error(const std::string& yaml) {
    try {
      factory_.createFilterFactory(YAML::Load(yaml), context_);
    } catch (const registry::ConfigError& e) {
      return e.field() + ": " + e.what() + " (" + std::to_string(e.mark().line + 1) + ":" +
             std::to_string(e.mark().column + 1) + ")";
    }
    return "(no error)";
  }

  HeaderRewriteFactory factory_;
  NiceMock<registry::MockFactoryContext> context_;
};

TEST_F(HeaderRewriteConfigTest, AcceptsEveryKindOfRule) {
  EXPECT_EQ("(no error)", error(R"(
request:
  remove: [X-Debug]
  rewrite: [{name: X-Path, prefix: /a, replacement: ""}]
  set: [{name: X-Env, value: ""}]
  add: [{name: X-Tag, value: "1"}, {name: X-Tag, value: "2"}]
response:
  add: [{name: Strict-Transport-Security, value: "max-age=3600"}]
)"));
}

TEST_F(HeaderRewriteConfigTest, RefusesAnEmptyConfig) {
  EXPECT_THAT(error(""), StartsWith(": expected at least one rule under request or response"));
  EXPECT_THAT(error("{request: {}, response: {remove: []}}"),
              StartsWith(": expected at least one rule"));
}

TEST_F(HeaderRewriteConfigTest, RefusesUnknownFieldsAtEveryLevel) {
  EXPECT_THAT(error("requests: {remove: [A]}"),
              StartsWith("requests: unknown field, expected one of: request, response (1:1)"));
  EXPECT_THAT(error("request: {delete: [A]}"),
              StartsWith("request.delete: unknown field, expected one of: remove, rewrite, set, "
                         "add"));
  EXPECT_THAT(error("request: {set: [{name: A, value: b, append: true}]}"),
              StartsWith("request.set[0].append: unknown field, expected one of: name, value"));
  EXPECT_THAT(error("response: {rewrite: [{name: A, prefix: b, replace: c}]}"),
              StartsWith("response.rewrite[0].replace: unknown field"));
}

TEST_F(HeaderRewriteConfigTest, RefusesWrongShapes) {
  EXPECT_THAT(error("[a]"), StartsWith(": expected a map, found a list"));
  EXPECT_THAT(error("request: {remove: X-A}"),
              StartsWith("request.remove: expected a list, found \"X-A\""));
  EXPECT_THAT(error("request: {set: [X-A]}"),
              StartsWith("request.set[0]: expected a map with name and value, found \"X-A\""));
  EXPECT_THAT(error("request: {add: [{name: X-A}]}"),
              StartsWith("request.add[0].value: required field is missing"));
  EXPECT_THAT(error("request: {add: [{value: b}]}"),
              StartsWith("request.add[0].name: required field is missing"));
  EXPECT_THAT(error("request: {add: [{name: X-A, value: [b]}]}"),
              StartsWith("request.add[0].value: expected a string, found a list"));
  EXPECT_THAT(error("request: {rewrite: [{name: X-A, replacement: b}]}"),
              StartsWith("request.rewrite[0].prefix: required field is missing"));
}

TEST_F(HeaderRewriteConfigTest, RefusesHeaderNamesThatAreNotTokens) {
  EXPECT_THAT(error("request: {remove: [\"X A\"]}"),
              StartsWith("request.remove[0]: expected a header name (letters, digits and"));
  EXPECT_THAT(error("request: {set: [{name: \"X:A\", value: b}]}"),
              StartsWith("request.set[0].name: expected a header name"));
  EXPECT_THAT(error("request: {add: [{name: \"\", value: b}]}"),
              StartsWith("request.add[0].name: expected a header name, found \"\""));
}

TEST_F(HeaderRewriteConfigTest, RefusesControlCharactersInValues) {
  // A CR or LF would let a value end the header and start another on the wire.
  EXPECT_THAT(error("request: {add: [{name: X-A, value: \"a\\r\\nInjected: 1\"}]}"),
              StartsWith("request.add[0].value: expected a header value without control "
                         "characters (CR, LF, NUL...), found one (1:36)"));
  EXPECT_THAT(error("response: {set: [{name: X-A, value: \"a\\nb\"}]}"),
              StartsWith("response.set[0].value: expected a header value without control"));
  EXPECT_THAT(error("request: {add: [{name: X-A, value: \"a\\0b\"}]}"),
              StartsWith("request.add[0].value: expected a header value without control"));
  EXPECT_THAT(error("request: {rewrite: [{name: X-A, prefix: a, replacement: \"\\r\"}]}"),
              StartsWith("request.rewrite[0].replacement: expected a header value without"));
  EXPECT_THAT(error("request: {rewrite: [{name: X-A, prefix: \"\\x7f\", replacement: b}]}"),
              StartsWith("request.rewrite[0].prefix: expected a header value without"));
  // A tab inside a value is allowed; around it, not.
  EXPECT_EQ("(no error)", error("request: {add: [{name: X-A, value: \"a\\tb\"}]}"));
  EXPECT_THAT(error("request: {add: [{name: X-A, value: \" a\"}]}"),
              StartsWith("request.add[0].value: expected a value without leading or trailing "
                         "whitespace"));
  EXPECT_THAT(error("request: {rewrite: [{name: X-A, prefix: \" a\", replacement: b}]}"),
              StartsWith("request.rewrite[0].prefix: expected a non-empty prefix that does not "
                         "start with whitespace"));
  EXPECT_THAT(error("request: {rewrite: [{name: X-A, prefix: \"\", replacement: b}]}"),
              StartsWith("request.rewrite[0].prefix: expected a non-empty prefix"));
}

TEST_F(HeaderRewriteConfigTest, RefusesHeadersTheProxyManages) {
  for (const char* name : {"Content-Length", "transfer-encoding", "Connection", "Keep-Alive",
                           "Proxy-Connection", "TE", "Trailer", "Upgrade", "Expect", "HOST"}) {
    SCOPED_TRACE(name);
    EXPECT_THAT(error(std::string("response: {remove: [") + name + "]}"),
                StartsWith("response.remove[0]: expected a header the proxy does not manage "
                           "itself"));
    EXPECT_THAT(error(std::string("request: {add: [{name: ") + name + ", value: x}]}"),
                StartsWith("request.add[0].name: expected a header the proxy does not manage"));
  }
}

TEST_F(HeaderRewriteConfigTest, RefusesRulesThatContradictOrRepeat) {
  EXPECT_THAT(error("request: {remove: [X-A, x-a]}"),
              StartsWith("request.remove[1]: expected each header once, found \"x-a\" twice"));
  EXPECT_THAT(
      error("request: {set: [{name: X-A, value: a}, {name: x-A, value: b}]}"),
      StartsWith("request.set[1].name: expected each header set once, found \"x-A\" twice"));
  EXPECT_THAT(error("request: {remove: [X-A], set: [{name: X-A, value: a}]}"),
              StartsWith("request.set[0].name: expected a header that is not also removed"));
  EXPECT_THAT(error("request: {remove: [X-A], rewrite: [{name: X-A, prefix: a, "
                    "replacement: b}]}"),
              StartsWith("request.rewrite[0].name: expected a header that is not also removed "
                         "or set"));
  EXPECT_THAT(error("request: {set: [{name: X-A, value: a}], rewrite: [{name: X-A, prefix: a, "
                    "replacement: b}]}"),
              StartsWith("request.rewrite[0].name: expected a header that is not also removed "
                         "or set"));
  // The same name in the other direction is independent.
  EXPECT_EQ("(no error)",
            error("request: {remove: [X-A]}\nresponse: {set: [{name: X-A, value: a}]}"));
}

TEST_F(HeaderRewriteConfigTest, ErrorsPointAtTheOffendingNode) {
  EXPECT_THAT(error("request:\n  remove:\n    - X-A\n    - \"Bad Name\"\n"), HasSubstr("(4:7)"));
}

}  // namespace
}  // namespace proxy::plugins::header_rewrite
