#pragma once

#include <gmock/gmock.h>

#include <chrono>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/upstream/cluster.h"

namespace proxy::upstream {

// hostname(), port(), tls() and address() return hostname_, port_, tls_ and address_;
// addresses() returns addresses_, or address_ alone when addresses_ is empty;
// onAddressConnected() appends to connected_addresses_ and makes the address address_;
// healthy() returns healthy_; onRequestStart()/onRequestEnd() move active_requests_, which
// activeRequests() returns; the connect outcomes are counted in connect_successes_ and
// connect_failures_.
class MockHost : public Host {
 public:
  MockHost();
  explicit MockHost(const Endpoint& endpoint);
  ~MockHost() override;

  // upstream::Host
  MOCK_METHOD(const std::string&, hostname, (), (const, override));
  MOCK_METHOD(uint16_t, port, (), (const, override));
  MOCK_METHOD(bool, tls, (), (const, override));
  MOCK_METHOD(network::Address, address, (), (const, override));
  MOCK_METHOD(std::vector<network::Address>, addresses, (), (const, override));
  MOCK_METHOD(void, onAddressConnected, (const network::Address& address), (override));
  MOCK_METHOD(bool, healthy, (), (const, override));
  MOCK_METHOD(void, onConnectSuccess, (), (override));
  MOCK_METHOD(void, onConnectFailure, (), (override));
  MOCK_METHOD(void, onRequestStart, (), (override));
  MOCK_METHOD(void, onRequestEnd, (), (override));
  MOCK_METHOD(uint64_t, activeRequests, (), (const, override));

  std::string hostname_ = "127.0.0.1";
  uint16_t port_ = 80;
  bool tls_ = false;
  network::Address address_;
  std::vector<network::Address> addresses_;
  std::vector<network::Address> connected_addresses_;
  bool healthy_ = true;
  uint64_t active_requests_ = 0;
  uint64_t connect_successes_ = 0;
  uint64_t connect_failures_ = 0;
};

// name(), hosts(), connectTimeout() and tlsContext() return name_, hosts_, connect_timeout_
// and tls_context_;
// chooseHost() returns the first of hosts_ that is healthy, resolved and not excluded (else
// nullptr with kNoHealthyHost).
class MockCluster : public Cluster {
 public:
  MockCluster();
  explicit MockCluster(std::string name);
  ~MockCluster() override;

  // upstream::Cluster
  MOCK_METHOD(const std::string&, name, (), (const, override));
  MOCK_METHOD(std::chrono::milliseconds, connectTimeout, (), (const, override));
  MOCK_METHOD(const std::vector<HostSharedPtr>&, hosts, (), (const, override));
  MOCK_METHOD(HostChoice, chooseHost, (std::span<const Host* const> exclude), (const, override));
  MOCK_METHOD(const network::TransportSocketFactoryConstSharedPtr&, tlsContext, (),
              (const, override));

  std::string name_;
  std::vector<HostSharedPtr> hosts_;
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

  // Adds (or replaces) a NiceMock cluster named `name`, with a NiceMock host per endpoint,
  // and returns it for further setup.
  testing::NiceMock<MockCluster>& addCluster(const std::string& name,
                                             std::vector<Endpoint> endpoints = {});

  std::map<std::string, std::shared_ptr<testing::NiceMock<MockCluster>>, std::less<>> clusters_;
};

}  // namespace proxy::upstream
