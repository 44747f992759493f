#include "server/json_text.h"

#include <gtest/gtest.h>

namespace proxy::server {
namespace {

TEST(JsonTextTest, QuotesAndEscapes) {
  EXPECT_EQ(jsonQuote("a\"b\\c\nd\te"), R"("a\"b\\c\nd\te")");
  EXPECT_EQ(jsonQuote(std::string("x\x01y", 3)), R"("x\u0001y")");
  EXPECT_EQ(jsonStringArray({}), "[]");
  EXPECT_EQ(jsonStringArray({"a", "b"}), R"(["a","b"])");
}

TEST(JsonTextTest, YamlBecomesJsonWithPlainScalarsTyped) {
  YAML::Node node = YAML::Load(R"(
name: web
port: 8020
quoted: "8020"
ratio: 1.5
on: true
none: null
list: [1, "two", {k: v}]
empty: []
)");
  EXPECT_EQ(yamlToJson(node),
            R"({"name":"web","port":8020,"quoted":"8020","ratio":1.5,"on":true,"none":null,)"
            R"("list":[1,"two",{"k":"v"}],"empty":[]})");
}

TEST(JsonTextTest, StyleDoesNotMatter) {
  EXPECT_EQ(yamlToJson(YAML::Load("{a: 1, b: [x]}")), yamlToJson(YAML::Load("a: 1\nb:\n  - x\n")));
}

}  // namespace
}  // namespace proxy::server
