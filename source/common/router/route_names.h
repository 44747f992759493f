#pragma once

#include <set>
#include <string>

namespace proxy::router {

// The names of one router filter's rules. They label metrics and logs, so they are unique
// within the filter (docs/behaviour.md §1): explicit names are reserved first, then each rule
// without one derives a free name from what it matches. Config time only.
class RouteNames {
 public:
  // Takes an explicit name; false when it is already taken.
  bool reserve(const std::string& name) { return names_.insert(name).second; }

  // The first free one of `base`, `base_2`, `base_3`, ..., now taken.
  std::string derive(const std::string& base);

 private:
  std::set<std::string> names_;
};

}  // namespace proxy::router
