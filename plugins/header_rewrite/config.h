#pragma once

#include "api/registry/filter_factory.h"

namespace proxy::plugins::header_rewrite {

// `header_rewrite` (HTTP): adds, sets, removes and rewrites request and response headers by
// rule (README.md in this folder has the schema). Hop-by-hop and framing headers are refused
// at config time: the proxy owns them.
class HeaderRewriteFactory final : public registry::NamedHttpFilterFactory {
 public:
  std::string name() const override { return "header_rewrite"; }
  registry::FilterCapabilities capabilities() const override {
    return {.terminal = false, .reads_body = false};
  }
  registry::HttpFilterFactoryCb createFilterFactory(const YAML::Node& config,
                                                    registry::FactoryContext& context) override;
};

}  // namespace proxy::plugins::header_rewrite
