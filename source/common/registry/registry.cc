#include "api/registry/registry.h"

namespace proxy::registry {

Registry<NamedNetworkFilterFactory>& networkFilters() {
  // Built on first use, so static registration objects in any translation unit may use it.
  static Registry<NamedNetworkFilterFactory> registry;
  return registry;
}

Registry<NamedHttpFilterFactory>& httpFilters() {
  static Registry<NamedHttpFilterFactory> registry;
  return registry;
}

}  // namespace proxy::registry
