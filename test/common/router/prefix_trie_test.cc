#include "common/router/prefix_trie.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

namespace proxy::router {
namespace {

constexpr uint32_t kNone = PrefixTrie::kNoRule;

TEST(PrefixTrieTest, LowestRuleAmongMatchingPrefixes) {
  PrefixTrie trie({{"/users", 3}, {"/", 7}, {"/users/admin", 1}, {"/u", 5}, {"/payments", 2}});
  EXPECT_EQ(trie.lowestMatch("/users/admin/x"), 1u);
  EXPECT_EQ(trie.lowestMatch("/users/adm"), 3u);
  EXPECT_EQ(trie.lowestMatch("/users2"), 3u);
  EXPECT_EQ(trie.lowestMatch("/us"), 5u);
  EXPECT_EQ(trie.lowestMatch("/payment"), 7u);
  EXPECT_EQ(trie.lowestMatch("/payments"), 2u);
  EXPECT_EQ(trie.lowestMatch("/"), 7u);
  EXPECT_EQ(trie.lowestMatch(""), kNone);
  EXPECT_EQ(trie.lowestMatch("x"), kNone);
  // Only rules below the bound count.
  EXPECT_EQ(trie.lowestMatch("/users/admin", 1), kNone);
  EXPECT_EQ(trie.lowestMatch("/users/admin", 2), 1u);
  EXPECT_EQ(trie.lowestMatch("/users", 3), kNone);
  EXPECT_EQ(trie.lowestMatch("/users", 4), 3u);
}

TEST(PrefixTrieTest, SamePrefixKeepsTheLowerRule) {
  PrefixTrie trie({{"/a", 9}, {"/a", 4}, {"/a", 6}});
  EXPECT_EQ(trie.lowestMatch("/a/b"), 4u);
}

TEST(PrefixTrieTest, EmptyTrieAndEmptyPrefix) {
  PrefixTrie empty;
  EXPECT_EQ(empty.lowestMatch("/"), kNone);
  EXPECT_EQ(empty.nodeCount(), 1u);
  PrefixTrie everything({{"", 2}, {"/a", 1}});
  EXPECT_EQ(everything.lowestMatch(""), 2u);
  EXPECT_EQ(everything.lowestMatch("/b"), 2u);
  EXPECT_EQ(everything.lowestMatch("/a"), 1u);
}

TEST(PrefixTrieTest, PathCompression) {
  // One chain with no branching is one node under the root.
  PrefixTrie chain({{"/very/long/prefix", 0}});
  EXPECT_EQ(chain.nodeCount(), 2u);
  EXPECT_EQ(chain.lowestMatch("/very/long/prefix/x"), 0u);
  EXPECT_EQ(chain.lowestMatch("/very/long/prefi"), kNone);
  EXPECT_EQ(chain.lowestMatch("/very/long/prefiX"), kNone);
}

// Against a scan over every prefix, with an alphabet wide enough for nodes with many children
// (the binary search) and one narrow enough for deep nesting.
TEST(PrefixTrieTest, MatchesLinearScanOnRandomPrefixes) {
  std::mt19937 random(7);
  for (const char* alphabet_text : {"ab/", "abcdefghijklmnopqrst/"}) {
    const std::string alphabet = alphabet_text;
    for (size_t count : {1u, 5u, 50u, 500u}) {
      std::uniform_int_distribution<size_t> letter(0, alphabet.size() - 1);
      std::uniform_int_distribution<int> length(0, 6);
      auto randomString = [&](int extra) {
        std::string text;
        for (int n = length(random) + extra; n > 0; --n) {
          text += alphabet[letter(random)];
        }
        return text;
      };
      std::vector<std::pair<std::string, uint32_t>> prefixes;
      for (size_t i = 0; i < count; ++i) {
        // Rarely the empty prefix: it matches everything and would decide most lookups.
        std::string prefix = random() % 100 == 0 ? "" : randomString(1);
        prefixes.emplace_back(prefix, static_cast<uint32_t>(random() % (count * 2)));
      }
      PrefixTrie trie(prefixes);
      for (int q = 0; q < 5000; ++q) {
        std::string path =
            q % 2 == 0 ? randomString(1) : prefixes[random() % count].first + randomString(0);
        uint32_t below = q % 3 == 0 ? static_cast<uint32_t>(random() % (count * 2)) : kNone;
        uint32_t expected = kNone;
        for (const auto& [prefix, rule] : prefixes) {
          if (rule < below && rule < expected && path.starts_with(prefix)) {
            expected = rule;
          }
        }
        ASSERT_EQ(trie.lowestMatch(path, below), expected)
            << "path \"" << path << "\" below " << below << ", " << count << " prefixes";
      }
    }
  }
}

}  // namespace
}  // namespace proxy::router
