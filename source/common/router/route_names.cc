#include "common/router/route_names.h"

namespace proxy::router {

std::string RouteNames::derive(const std::string& base) {
  std::string name = base;
  for (int n = 2; !names_.insert(name).second; ++n) {
    name = base + "_" + std::to_string(n);
  }
  return name;
}

}  // namespace proxy::router
