#include "test/mocks/registry/mocks.h"

using testing::_;
using testing::ReturnPointee;
using testing::ReturnRef;

namespace proxy::registry {

MockFactoryContext::MockFactoryContext() {
  ON_CALL(*this, clusterManager()).WillByDefault(ReturnRef(cluster_manager_));
  ON_CALL(*this, scope()).WillByDefault(ReturnRef(store_));
  ON_CALL(*this, listenerName()).WillByDefault(ReturnRef(listener_name_));
  ON_CALL(*this, chainFilterNames()).WillByDefault(ReturnRef(chain_filter_names_));
  ON_CALL(*this, addRouteIntrospector(testing::_, testing::_))
      .WillByDefault([this](const std::string& name, http::RouteIntrospectorConstSharedPtr r) {
        route_introspectors_.emplace_back(name, std::move(r));
      });
}

MockFactoryContext::~MockFactoryContext() = default;

MockNamedNetworkFilterFactory::MockNamedNetworkFilterFactory()
    : MockNamedNetworkFilterFactory("mock_filter") {}

MockNamedNetworkFilterFactory::MockNamedNetworkFilterFactory(std::string name)
    : name_(std::move(name)) {
  ON_CALL(*this, name()).WillByDefault(ReturnPointee(&name_));
  ON_CALL(*this, capabilities()).WillByDefault(ReturnPointee(&capabilities_));
  ON_CALL(*this, createFilterFactory(_, _))
      .WillByDefault([](const YAML::Node&, FactoryContext&) -> NetworkFilterFactoryCb {
        return [](network::FilterManager&) {};
      });
}

MockNamedNetworkFilterFactory::~MockNamedNetworkFilterFactory() = default;

}  // namespace proxy::registry
