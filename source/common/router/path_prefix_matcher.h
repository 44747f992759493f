#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/router/prefix_trie.h"
#include "common/router/string_map.h"

namespace proxy::router {

// Ordered rules, each an optional host and a path prefix, and the first one a request
// matches: the same answer as a scan in rule order, without the scan. The host-less rules
// are one PrefixTrie and each host's rules another; a request looks in the host-less trie
// and in its host's trie, and the lower rule number of the two is the first match (the
// host-less result bounds the second walk). Immutable once built; any thread.
class PathPrefixMatcher {
 public:
  static constexpr size_t kNoMatch = static_cast<size_t>(-1);

  struct Rule {
    std::string host;    // normalized (normalizeHost()); "" matches every host
    std::string prefix;  // a byte prefix of the path
  };

  explicit PathPrefixMatcher(const std::vector<Rule>& rules);

  // The index of the first rule whose host is "" or equal to `host` and whose prefix is a
  // byte prefix of `path` ("/users" matches "/users2"), or kNoMatch.
  size_t match(std::string_view host, std::string_view path) const;

 private:
  PrefixTrie any_host_;
  StringMap<PrefixTrie> by_host_;
};

}  // namespace proxy::router
