#pragma once

#include "api/registry/filter_factory.h"

namespace proxy::filters::router {

// `router`: the terminal HTTP filter, forwarding each routed request to its cluster. Config
// (all optional):
//   response_timeout: DURATION   # upstream response headers, from the request's end; default
//                                # 60s, "0" disables
//   buffer_limit: BYTES          # queued toward the upstream before the client is paused;
//                                # default 1 MiB
// The connect timeout is the cluster's.
class RouterFactory final : public registry::NamedHttpFilterFactory {
 public:
  std::string name() const override { return "router"; }
  registry::FilterCapabilities capabilities() const override {
    return {.terminal = true, .reads_body = false};
  }
  registry::HttpFilterFactoryCb createFilterFactory(const YAML::Node& config,
                                                    registry::FactoryContext& context) override;
};

}  // namespace proxy::filters::router
