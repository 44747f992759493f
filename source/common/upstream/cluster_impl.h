#pragma once

#include <string>
#include <vector>

#include "api/upstream/cluster.h"

namespace proxy::upstream {

// A cluster as configured, with its endpoints' addresses resolved when it was built.
class ClusterImpl final : public Cluster {
 public:
  ClusterImpl(std::string name, std::vector<Endpoint> endpoints,
              std::chrono::milliseconds connect_timeout,
              network::TransportSocketFactoryConstSharedPtr tls_context = nullptr)
      : name_(std::move(name)),
        endpoints_(std::move(endpoints)),
        connect_timeout_(connect_timeout),
        tls_context_(std::move(tls_context)) {}

  // upstream::Cluster
  const std::string& name() const override { return name_; }
  const std::vector<Endpoint>& endpoints() const override { return endpoints_; }
  std::chrono::milliseconds connectTimeout() const override { return connect_timeout_; }
  const network::TransportSocketFactoryConstSharedPtr& tlsContext() const override {
    return tls_context_;
  }

 private:
  const std::string name_;
  const std::vector<Endpoint> endpoints_;
  const std::chrono::milliseconds connect_timeout_;
  const network::TransportSocketFactoryConstSharedPtr tls_context_;
};

}  // namespace proxy::upstream
