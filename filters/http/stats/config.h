#pragma once

#include "api/registry/filter_factory.h"

namespace proxy::filters::http_stats {

// `stats` (HTTP): counts requests. Config (optional):
//   buckets: [0.005, 0.01, ...]   upper bounds of the duration histogram, in seconds
class HttpStatsFactory final : public registry::NamedHttpFilterFactory {
 public:
  std::string name() const override { return "stats"; }
  registry::FilterCapabilities capabilities() const override {
    return {.terminal = false, .reads_body = false};
  }
  registry::HttpFilterFactoryCb createFilterFactory(const YAML::Node& config,
                                                    registry::FactoryContext& context) override;
};

}  // namespace proxy::filters::http_stats
