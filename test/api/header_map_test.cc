#include "api/http/header_map.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

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

TEST(HeaderMapTest, ANewMapReusesTheMemoryOfTheLastOneAndStartsEmpty) {
  RecycledBlocks::releaseThreadCache();
  const void* map_memory = nullptr;
  const void* arena_memory = nullptr;
  {
    auto first = std::make_unique<RequestHeaderMap>();
    first->setMethod("POST");
    first->setPath("/first");
    first->add("x-extra", "leftover");
    first->add("host", "a");
    map_memory = first.get();
    arena_memory = first->method().data();  // the first bytes stored
  }
  auto second = std::make_unique<RequestHeaderMap>();
  EXPECT_EQ(map_memory, second.get());
  EXPECT_TRUE(second->empty());
  EXPECT_EQ("", second->method());
  EXPECT_EQ("", second->path());
  EXPECT_FALSE(second->get("x-extra").has_value());
  second->add("host", "b");
  // The first arena block is the last map's: its first bytes land where the last map's did.
  EXPECT_EQ(arena_memory, second->entries().front().name.data());
  EXPECT_EQ(1u, second->size());
  EXPECT_EQ("b", *second->get("host"));
}

TEST(HeaderMapTest, ValuesBiggerThanABlockAndManyBlocksStayValid) {
  HeaderMap headers;
  const std::string big(5000, 'v');
  headers.add("big", big);
  std::vector<std::string> values;
  for (int i = 0; i < 300; ++i) {
    values.push_back(std::string(20, static_cast<char>('a' + i % 26)));
    headers.add("h" + std::to_string(i), values.back());
  }
  EXPECT_EQ(big, *headers.get("big"));
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(values[i], *headers.get("h" + std::to_string(i)));
  }
}

}  // namespace
}  // namespace proxy::http
