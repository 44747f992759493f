#pragma once

#include "api/registry/filter_factory.h"

namespace proxy::filters::network_stats {

// `stats` (network): counts connections, bytes and failures per listener. No config.
class StatsFactory final : public registry::NamedNetworkFilterFactory {
 public:
  std::string name() const override { return "stats"; }
  registry::FilterCapabilities capabilities() const override {
    return {.terminal = false, .reads_body = false};
  }
  registry::NetworkFilterFactoryCb createFilterFactory(const YAML::Node& config,
                                                       registry::FactoryContext& context) override;
};

}  // namespace proxy::filters::network_stats
