#pragma once

#include "api/registry/filter_factory.h"

namespace proxy::plugins::ip_access {

// `ip_access` (network): admits or refuses connections by client address against allow and
// deny lists of CIDR ranges (README.md in this folder has the schema). Not terminal: it goes
// before tcp_proxy or http_connection_manager.
class IpAccessFactory final : public registry::NamedNetworkFilterFactory {
 public:
  std::string name() const override { return "ip_access"; }
  registry::FilterCapabilities capabilities() const override {
    return {.terminal = false, .reads_body = false};
  }
  registry::NetworkFilterFactoryCb createFilterFactory(const YAML::Node& config,
                                                       registry::FactoryContext& context) override;
};

}  // namespace proxy::plugins::ip_access
