#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace proxy::router {

// Byte-string prefixes, each with a rule number, answering "which is the lowest-numbered
// prefix of this path" in one walk down the path. A path-compressed trie in flat arrays:
// each node holds the bytes that lead to it and the lowest rule in its subtree, so the walk
// stops as soon as nothing below can beat what it already found. Immutable once built;
// safe to read from any thread.
class PrefixTrie {
 public:
  static constexpr uint32_t kNoRule = UINT32_MAX;

  PrefixTrie() : PrefixTrie(std::vector<std::pair<std::string, uint32_t>>{}) {}
  // `prefixes`: (prefix, rule) pairs in any order; a prefix given twice keeps its lower rule.
  explicit PrefixTrie(std::vector<std::pair<std::string, uint32_t>> prefixes);

  // The lowest rule below `below` among the prefixes that are byte prefixes of `path`
  // (a prefix equal to the path counts), or kNoRule.
  uint32_t lowestMatch(std::string_view path, uint32_t below = kNoRule) const;

  size_t nodeCount() const { return nodes_.size(); }

 private:
  struct Node {
    uint32_t rule = kNoRule;          // the prefix ending exactly here
    uint32_t subtree_rule = kNoRule;  // the lowest rule here or below
    uint32_t label_begin = 0;         // the bytes leading here from the parent, in labels_
    uint32_t label_length = 0;
    uint32_t first_child = 0;  // children are nodes_[first_child, first_child + child_count),
    uint32_t child_count = 0;  // sorted by the first byte of their label
  };

  // The child of `node` whose label starts with `byte`, or nullptr.
  const Node* child(const Node& node, unsigned char byte) const;

  std::vector<Node> nodes_;                // nodes_[0] is the root, with an empty label
  std::vector<unsigned char> first_byte_;  // first label byte of each node, for child()
  std::string labels_;
};

}  // namespace proxy::router
