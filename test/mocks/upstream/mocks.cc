#include "test/mocks/upstream/mocks.h"

using testing::_;
using testing::NiceMock;
using testing::ReturnPointee;
using testing::ReturnRef;

namespace proxy::upstream {

MockCluster::MockCluster() : MockCluster("test_cluster") {}

MockCluster::MockCluster(std::string name) : name_(std::move(name)) {
  ON_CALL(*this, name()).WillByDefault(ReturnRef(name_));
  ON_CALL(*this, endpoints()).WillByDefault(ReturnRef(endpoints_));
  ON_CALL(*this, connectTimeout()).WillByDefault(ReturnPointee(&connect_timeout_));
  ON_CALL(*this, tlsContext()).WillByDefault(ReturnRef(tls_context_));
}

MockCluster::~MockCluster() = default;

MockClusterManager::MockClusterManager() {
  ON_CALL(*this, get(_)).WillByDefault([this](std::string_view name) -> ClusterConstSharedPtr {
    auto it = clusters_.find(name);
    if (it == clusters_.end()) {
      return nullptr;
    }
    return it->second;
  });
}

MockClusterManager::~MockClusterManager() = default;

NiceMock<MockCluster>& MockClusterManager::addCluster(const std::string& name,
                                                      std::vector<Endpoint> endpoints) {
  auto cluster = std::make_shared<NiceMock<MockCluster>>(name);
  cluster->endpoints_ = std::move(endpoints);
  clusters_[name] = cluster;
  return *cluster;
}

}  // namespace proxy::upstream
