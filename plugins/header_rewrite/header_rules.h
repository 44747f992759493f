#pragma once

#include <string>
#include <vector>

#include "api/http/header_map.h"

namespace proxy::plugins::header_rewrite {

// The edits of one direction (request or response), validated at config time and applied
// in a fixed order: remove, then rewrite, then set, then add. Immutable once built, so every
// worker's filters share one.
class HeaderRules {
 public:
  struct Header {
    std::string name;
    std::string value;
  };
  // Every header `name` whose value starts with `prefix` gets `prefix` replaced by
  // `replacement`; values that do not start with it are left as they are.
  struct Rewrite {
    std::string name;
    std::string prefix;
    std::string replacement;
  };

  std::vector<std::string> remove;
  std::vector<Rewrite> rewrite;
  std::vector<Header> set;
  std::vector<Header> add;

  bool empty() const { return remove.empty() && rewrite.empty() && set.empty() && add.empty(); }

  // Edits `headers` in place. Worker thread; touches nothing but `headers`.
  void apply(http::HeaderMap& headers) const;
};

}  // namespace proxy::plugins::header_rewrite
