#pragma once

#include <gmock/gmock.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "api/registry/filter_factory.h"
#include "common/stats/store_impl.h"
#include "test/mocks/upstream/mocks.h"

namespace proxy::registry {

// clusterManager() returns the NiceMock cluster_manager_; scope() a real stats::StoreImpl
// (store_, one worker slot), so a test reads what a filter counted from its handles or from
// store_.snapshot(); listenerName() and chainFilterNames() return listener_name_
// ("test_listener") and chain_filter_names_; addRouteIntrospector() appends to
// route_introspectors_.
class MockFactoryContext : public FactoryContext {
 public:
  MockFactoryContext();
  ~MockFactoryContext() override;

  // registry::FactoryContext
  MOCK_METHOD(const upstream::ClusterManager&, clusterManager, (), (const, override));
  MOCK_METHOD(stats::Scope&, scope, (), (override));
  MOCK_METHOD(const std::string&, listenerName, (), (const, override));
  MOCK_METHOD(const std::vector<std::string>&, chainFilterNames, (), (const, override));
  MOCK_METHOD(void, addRouteIntrospector,
              (const std::string& filter_name, http::RouteIntrospectorConstSharedPtr introspector),
              (override));

  testing::NiceMock<upstream::MockClusterManager> cluster_manager_;
  stats::StoreImpl store_{1};
  std::string listener_name_ = "test_listener";
  std::vector<std::string> chain_filter_names_;
  std::vector<std::pair<std::string, http::RouteIntrospectorConstSharedPtr>> route_introspectors_;
};

// name() and capabilities() return name_ and capabilities_; createFilterFactory() returns a
// callback that installs nothing.
class MockNamedNetworkFilterFactory : public NamedNetworkFilterFactory {
 public:
  MockNamedNetworkFilterFactory();
  explicit MockNamedNetworkFilterFactory(std::string name);
  ~MockNamedNetworkFilterFactory() override;

  // registry::NamedNetworkFilterFactory
  MOCK_METHOD(std::string, name, (), (const, override));
  MOCK_METHOD(FilterCapabilities, capabilities, (), (const, override));
  MOCK_METHOD(NetworkFilterFactoryCb, createFilterFactory,
              (const YAML::Node& config, FactoryContext& context), (override));

  std::string name_;
  FilterCapabilities capabilities_;
};

}  // namespace proxy::registry
