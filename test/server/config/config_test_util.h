#pragma once

#include <gmock/gmock.h>

#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>

#include "server/config/config_loader.h"
#include "test/mocks/registry/mocks.h"

namespace proxy::server::config_test {

// Config tests validate against their own registry of mock factories, so they do not depend
// on which real filters the binary links, and can add a filter (http_connection_manager)
// before it exists.
inline void addFilter(NetworkFilterRegistry& filters, const std::string& name, bool terminal) {
  auto factory = std::make_unique<testing::NiceMock<registry::MockNamedNetworkFilterFactory>>(name);
  factory->capabilities_.terminal = terminal;
  filters.add(std::move(factory));
}

// What the seed's TCP listener needs, plus two neutral names: the registry of today's build.
inline NetworkFilterRegistry tcpFilters() {
  NetworkFilterRegistry filters;
  addFilter(filters, "stats", false);
  addFilter(filters, "tcp_proxy", true);
  addFilter(filters, "test_plain", false);
  addFilter(filters, "test_terminal", true);
  return filters;
}

// Whether two YAML trees hold the same data, whatever their flow or block style and quoting.
// An absent node equals null, as a filter's absent config does.
inline bool sameYaml(const YAML::Node& a, const YAML::Node& b) {
  bool a_null = !a.IsDefined() || a.IsNull();
  bool b_null = !b.IsDefined() || b.IsNull();
  if (a_null || b_null) {
    return a_null == b_null;
  }
  if (a.Type() != b.Type()) {
    return false;
  }
  if (a.IsScalar()) {
    return a.Scalar() == b.Scalar();
  }
  if (a.size() != b.size()) {
    return false;
  }
  if (a.IsSequence()) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!sameYaml(a[i], b[i])) {
        return false;
      }
    }
    return true;
  }
  // Maps, in order: the loader and printer keep the order written.
  auto left = a.begin();
  for (auto right = b.begin(); right != b.end(); ++left, ++right) {
    if (!sameYaml(left->first, right->first) || !sameYaml(left->second, right->second)) {
      return false;
    }
  }
  return true;
}

// The same once HTTP is built.
inline NetworkFilterRegistry httpFilters() {
  NetworkFilterRegistry filters = tcpFilters();
  addFilter(filters, "http_connection_manager", true);
  return filters;
}

}  // namespace proxy::server::config_test
