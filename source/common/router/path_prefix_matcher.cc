#include "common/router/path_prefix_matcher.h"

#include <stdexcept>
#include <utility>

namespace proxy::router {

PathPrefixMatcher::PathPrefixMatcher(const std::vector<Rule>& rules) {
  if (rules.size() >= PrefixTrie::kNoRule) {
    throw std::length_error("too many path prefix rules");
  }
  std::vector<std::pair<std::string, uint32_t>> any_host;
  StringMap<std::vector<std::pair<std::string, uint32_t>>> by_host;
  for (size_t i = 0; i < rules.size(); ++i) {
    auto& list = rules[i].host.empty() ? any_host : by_host[rules[i].host];
    list.emplace_back(rules[i].prefix, static_cast<uint32_t>(i));
  }
  any_host_ = PrefixTrie(std::move(any_host));
  for (auto& [host, prefixes] : by_host) {
    by_host_.emplace(host, PrefixTrie(std::move(prefixes)));
  }
}

size_t PathPrefixMatcher::match(std::string_view host, std::string_view path) const {
  uint32_t best = any_host_.lowestMatch(path);
  if (auto it = by_host_.find(host); it != by_host_.end()) {
    uint32_t scoped = it->second.lowestMatch(path, best);
    if (scoped != PrefixTrie::kNoRule) {
      best = scoped;
    }
  }
  return best == PrefixTrie::kNoRule ? kNoMatch : best;
}

}  // namespace proxy::router
