#include "test/mocks/upstream/mocks.h"

#include <algorithm>

using testing::_;
using testing::NiceMock;
using testing::ReturnPointee;
using testing::ReturnRef;

namespace proxy::upstream {

MockHost::MockHost() {
  ON_CALL(*this, hostname()).WillByDefault(ReturnRef(hostname_));
  ON_CALL(*this, port()).WillByDefault(ReturnPointee(&port_));
  ON_CALL(*this, tls()).WillByDefault(ReturnPointee(&tls_));
  ON_CALL(*this, address()).WillByDefault(ReturnPointee(&address_));
  ON_CALL(*this, addresses()).WillByDefault([this] {
    if (!addresses_.empty()) {
      return addresses_;
    }
    return address_.valid() ? std::vector<network::Address>{address_}
                            : std::vector<network::Address>{};
  });
  ON_CALL(*this, onAddressConnected(_)).WillByDefault([this](const network::Address& address) {
    connected_addresses_.push_back(address);
    address_ = address;
  });
  ON_CALL(*this, healthy()).WillByDefault(ReturnPointee(&healthy_));
  ON_CALL(*this, onConnectSuccess()).WillByDefault([this] { ++connect_successes_; });
  ON_CALL(*this, onConnectFailure()).WillByDefault([this] { ++connect_failures_; });
  ON_CALL(*this, onRequestStart()).WillByDefault([this] { ++active_requests_; });
  ON_CALL(*this, onRequestEnd()).WillByDefault([this] { --active_requests_; });
  ON_CALL(*this, activeRequests()).WillByDefault(ReturnPointee(&active_requests_));
}

MockHost::MockHost(const Endpoint& endpoint) : MockHost() {
  hostname_ = endpoint.host;
  port_ = endpoint.port;
  tls_ = endpoint.tls;
  address_ = endpoint.address;
}

MockHost::~MockHost() = default;

MockCluster::MockCluster() : MockCluster("test_cluster") {}

MockCluster::MockCluster(std::string name) : name_(std::move(name)) {
  ON_CALL(*this, name()).WillByDefault(ReturnRef(name_));
  ON_CALL(*this, hosts()).WillByDefault(ReturnRef(hosts_));
  ON_CALL(*this, connectTimeout()).WillByDefault(ReturnPointee(&connect_timeout_));
  ON_CALL(*this, tlsContext()).WillByDefault(ReturnRef(tls_context_));
  ON_CALL(*this, chooseHost(_)).WillByDefault([this](std::span<const Host* const> exclude) {
    for (const HostSharedPtr& host : hosts_) {
      if (host->healthy() && host->address().valid() &&
          std::find(exclude.begin(), exclude.end(), host.get()) == exclude.end()) {
        return HostChoice{host, NoHostReason::kNone};
      }
    }
    return HostChoice{nullptr, NoHostReason::kNoHealthyHost};
  });
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
  for (const Endpoint& endpoint : endpoints) {
    cluster->hosts_.push_back(std::make_shared<NiceMock<MockHost>>(endpoint));
  }
  clusters_[name] = cluster;
  return *cluster;
}

}  // namespace proxy::upstream
