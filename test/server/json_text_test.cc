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

TEST(JsonTextTest, OnlyJsonNumbersStayUnquoted) {
  for (const char* number : {"0", "-0", "42", "-7", "1.5", "1e9", "2E-3", "0.25e+2"}) {
    EXPECT_EQ(yamlToJson(YAML::Load(number)), number) << number;
  }
  // YAML reads these as numbers or strings; JSON has no such numbers, so they are strings.
  for (const char* text : {"01", "1.", ".5", "+1", "1e", "1e+", "-x", "0x1F", "1_000", "8020s"}) {
    EXPECT_EQ(yamlToJson(YAML::Load(text)), std::string("\"") + text + "\"") << text;
  }
}

}  // namespace
}  // namespace proxy::server
