#include "common/router/prefix_trie.h"

#include <algorithm>
#include <deque>

namespace proxy::router {

PrefixTrie::PrefixTrie(std::vector<std::pair<std::string, uint32_t>> prefixes) {
  // Sorted, a prefix comes right before the strings it is a prefix of, and every range of
  // strings sharing their first `depth` bytes is contiguous: the trie falls out of one pass
  // per level over ranges of this list.
  std::sort(prefixes.begin(), prefixes.end());
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }),
                 prefixes.end());

  struct Pending {
    uint32_t node;
    size_t begin;  // the range of `prefixes` under this node,
    size_t end;    // all longer than or equal to `depth` and equal in their first `depth` bytes
    size_t depth;
  };
  nodes_.emplace_back();
  first_byte_.push_back(0);
  std::deque<Pending> pending;
  if (!prefixes.empty()) {
    pending.push_back({0, 0, prefixes.size(), 0});
  }
  while (!pending.empty()) {
    Pending at = pending.front();
    pending.pop_front();
    size_t i = at.begin;
    if (prefixes[i].first.size() == at.depth) {
      nodes_[at.node].rule = prefixes[i].second;
      ++i;
    }
    // One child per distinct byte at `depth`; its label runs to where its strings diverge
    // (or the shortest ends: the common prefix of a sorted range is that of its ends).
    nodes_[at.node].first_child = static_cast<uint32_t>(nodes_.size());
    while (i < at.end) {
      unsigned char byte = static_cast<unsigned char>(prefixes[i].first[at.depth]);
      size_t group_end = i + 1;
      while (group_end < at.end &&
             static_cast<unsigned char>(prefixes[group_end].first[at.depth]) == byte) {
        ++group_end;
      }
      const std::string& first = prefixes[i].first;
      const std::string& last = prefixes[group_end - 1].first;
      size_t common = at.depth + 1;
      while (common < first.size() && common < last.size() && first[common] == last[common]) {
        ++common;
      }
      Node node;
      node.label_begin = static_cast<uint32_t>(labels_.size());
      node.label_length = static_cast<uint32_t>(common - at.depth);
      labels_.append(first, at.depth, common - at.depth);
      uint32_t index = static_cast<uint32_t>(nodes_.size());
      nodes_.push_back(node);
      first_byte_.push_back(byte);
      ++nodes_[at.node].child_count;
      pending.push_back({index, i, group_end, common});
      i = group_end;
    }
  }
  // Children come after their parents, so one backward pass settles every subtree minimum.
  for (size_t n = nodes_.size(); n-- > 0;) {
    Node& node = nodes_[n];
    node.subtree_rule = node.rule;
    for (uint32_t c = node.first_child; c < node.first_child + node.child_count; ++c) {
      node.subtree_rule = std::min(node.subtree_rule, nodes_[c].subtree_rule);
    }
  }
}

const PrefixTrie::Node* PrefixTrie::child(const Node& node, unsigned char byte) const {
  const unsigned char* begin = first_byte_.data() + node.first_child;
  const unsigned char* end = begin + node.child_count;
  const unsigned char* found =
      node.child_count <= 8 ? std::find(begin, end, byte) : std::lower_bound(begin, end, byte);
  if (found == end || *found != byte) {
    return nullptr;
  }
  return &nodes_[static_cast<size_t>(found - first_byte_.data())];
}

uint32_t PrefixTrie::lowestMatch(std::string_view path, uint32_t below) const {
  uint32_t best = below;
  const Node* node = &nodes_[0];
  size_t position = 0;
  while (node->subtree_rule < best) {
    best = std::min(best, node->rule);
    if (position == path.size()) {
      break;
    }
    node = child(*node, static_cast<unsigned char>(path[position]));
    if (node == nullptr || path.size() - position < node->label_length ||
        path.compare(position, node->label_length, labels_.data() + node->label_begin,
                     node->label_length) != 0) {
      break;
    }
    position += node->label_length;
  }
  return best < below ? best : kNoRule;
}

}  // namespace proxy::router
