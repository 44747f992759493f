#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/router/string_map.h"

namespace proxy::router {

// Host names and "*.suffix" wildcards, each with a number (a virtual host's index). A
// request host takes the number of its exact name if there is one, else of the wildcard
// with the longest suffix that matches, as nginx's server_name does: with "*.example.com"
// and "*.api.example.com", "v1.api.example.com" takes the second. A wildcard stands for one
// or more labels: "*.example.com" matches "a.b.example.com" but not "example.com".
// Immutable once built; any thread.
class HostMatcher {
 public:
  static constexpr size_t kNoMatch = static_cast<size_t>(-1);

  // Adds a normalized name ("api.example.com") or wildcard ("*.example.com"); false, and
  // nothing changed, when that pattern is already there.
  bool add(std::string_view pattern, size_t index);

  // The number for a normalized request host, or kNoMatch.
  size_t match(std::string_view host) const;

 private:
  StringMap<size_t> exact_;
  StringMap<size_t> wildcard_suffixes_;  // "*.example.com" is kept as "example.com"
};

}  // namespace proxy::router
