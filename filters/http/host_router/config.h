#pragma once

#include "api/registry/filter_factory.h"

namespace proxy::filters::host_router {

// `host_router`: whole virtual hosts to one cluster each. Config:
//   virtual_hosts:                        # may be empty
//     - name: api                         # optional; default: the first host
//       hosts: ["api.example.com", "*.api.example.com"]
//       cluster: api                      # or target: "http[s]://host[:port]", not both
//       preserve_host: false              # send the client's Host upstream
// Hosts are compared case-insensitively, without port or trailing dot; "*.suffix" stands for
// one or more labels. An exact name beats a wildcard, and a longer wildcard suffix beats a
// shorter one, whatever the order; a host may appear in one virtual host only.
class HostRouterFactory final : public registry::NamedHttpFilterFactory {
 public:
  std::string name() const override { return "host_router"; }
  registry::FilterCapabilities capabilities() const override {
    return {.terminal = false, .reads_body = false};
  }
  registry::HttpFilterFactoryCb createFilterFactory(const YAML::Node& config,
                                                    registry::FactoryContext& context) override;
};

}  // namespace proxy::filters::host_router
