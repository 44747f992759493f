#include "api/http/header_map.h"

#include <gtest/gtest.h>

#include <string>

namespace proxy::http {
namespace {

TEST(HeaderMapTest, RemoveIfRemovesEveryMatchInOnePassAndKeepsOrder) {
  HeaderMap headers;
  headers.add("a", "1");
  headers.add("X-Drop", "2");
  headers.add("b", "3");
  headers.add("x-drop", "4");
  headers.add("c", "5");
  size_t removed = headers.removeIf(
      [](const HeaderMap::Entry& entry) { return headerNameEquals(entry.name, "x-drop"); });
  EXPECT_EQ(2u, removed);
  std::string order;
  for (const auto& entry : headers.entries()) {
    order += std::string(entry.name) + "=" + std::string(entry.value) + ";";
  }
  EXPECT_EQ("a=1;b=3;c=5;", order);
}

TEST(HeaderMapTest, ManyHeadersStayValidAsTheListGrows) {
  // The entry list starts with room for a typical message and grows past it.
  HeaderMap headers;
  for (int i = 0; i < 100; ++i) {
    headers.add("h" + std::to_string(i), "v" + std::to_string(i));
  }
  ASSERT_EQ(100u, headers.size());
  EXPECT_EQ("v0", *headers.get("h0"));
  EXPECT_EQ("v99", *headers.get("H99"));
}

}  // namespace
}  // namespace proxy::http
