#include "common/router/host_matcher.h"

namespace proxy::router {

bool HostMatcher::add(std::string_view pattern, size_t index) {
  if (pattern.starts_with("*.")) {
    return wildcard_suffixes_.emplace(std::string(pattern.substr(2)), index).second;
  }
  return exact_.emplace(std::string(pattern), index).second;
}

size_t HostMatcher::match(std::string_view host) const {
  if (auto it = exact_.find(host); it != exact_.end()) {
    return it->second;
  }
  if (wildcard_suffixes_.empty()) {
    return kNoMatch;
  }
  // The leftmost dot leaves the longest suffix; a dot at 0 would leave an empty label.
  for (size_t dot = host.find('.', 1); dot != std::string_view::npos;
       dot = host.find('.', dot + 1)) {
    if (auto it = wildcard_suffixes_.find(host.substr(dot + 1)); it != wildcard_suffixes_.end()) {
      return it->second;
    }
  }
  return kNoMatch;
}

}  // namespace proxy::router
