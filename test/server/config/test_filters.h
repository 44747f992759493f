#pragma once

#include <gmock/gmock.h>

#include <memory>
#include <string>

#include "server/config/config_loader.h"
#include "test/mocks/registry/mocks.h"

namespace proxy::server::testing_filters {

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

// The same once HTTP is built.
inline NetworkFilterRegistry httpFilters() {
  NetworkFilterRegistry filters = tcpFilters();
  addFilter(filters, "http_connection_manager", true);
  return filters;
}

}  // namespace proxy::server::testing_filters
