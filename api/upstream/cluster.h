#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/network/address.h"
#include "api/network/transport_socket.h"

namespace proxy::upstream {

// One place a cluster sends traffic: the name and port as configured and, once resolved,
// the address to connect to.
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  network::Address address;  // !valid() while the name does not resolve
  bool tls = false;          // an https:// target
};

// A named group of endpoints, immutable once built (a reload builds a new one).
class Cluster {
 public:
  virtual ~Cluster() = default;
  virtual const std::string& name() const = 0;
  virtual const std::vector<Endpoint>& endpoints() const = 0;
  virtual std::chrono::milliseconds connectTimeout() const = 0;
  // How connections to its https endpoints are secured: the cluster's TLS context, built
  // with the snapshot and shared by the workers. nullptr when no endpoint is https.
  virtual const network::TransportSocketFactoryConstSharedPtr& tlsContext() const = 0;
};

using ClusterConstSharedPtr = std::shared_ptr<const Cluster>;

// The clusters of one config snapshot.
class ClusterManager {
 public:
  virtual ~ClusterManager() = default;
  // nullptr when no cluster has that name.
  virtual ClusterConstSharedPtr get(std::string_view name) const = 0;
};

}  // namespace proxy::upstream
