#pragma once

#include <gmock/gmock.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/upstream/cluster.h"

namespace proxy::upstream {

// name(), endpoints(), connectTimeout() and tlsContext() return name_, endpoints_,
// connect_timeout_ and tls_context_.
class MockCluster : public Cluster {
 public:
  MockCluster();
  explicit MockCluster(std::string name);
  ~MockCluster() override;

  // upstream::Cluster
  MOCK_METHOD(const std::string&, name, (), (const, override));
  MOCK_METHOD(const std::vector<Endpoint>&, endpoints, (), (const, override));
  MOCK_METHOD(std::chrono::milliseconds, connectTimeout, (), (const, override));
  MOCK_METHOD(const network::TransportSocketFactoryConstSharedPtr&, tlsContext, (),
              (const, override));

  std::string name_;
  std::vector<Endpoint> endpoints_;
  std::chrono::milliseconds connect_timeout_{5000};
  network::TransportSocketFactoryConstSharedPtr tls_context_;
};

// get() finds the cluster in clusters_ (nullptr when absent); addCluster() puts one there.
class MockClusterManager : public ClusterManager {
 public:
  MockClusterManager();
  ~MockClusterManager() override;

  // upstream::ClusterManager
  MOCK_METHOD(ClusterConstSharedPtr, get, (std::string_view name), (const, override));

  // Adds (or replaces) a NiceMock cluster named `name` and returns it for further setup.
  testing::NiceMock<MockCluster>& addCluster(const std::string& name,
                                             std::vector<Endpoint> endpoints = {});

  std::map<std::string, std::shared_ptr<testing::NiceMock<MockCluster>>, std::less<>> clusters_;
};

}  // namespace proxy::upstream
