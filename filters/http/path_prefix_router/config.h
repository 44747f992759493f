#pragma once

#include "api/registry/filter_factory.h"

namespace proxy::filters::path_prefix_router {

// `path_prefix_router`: ordered rules, first match wins. Config:
//   routes:                               # may be empty: matches nothing
//     - name: users                       # optional; default: host + prefix, made unique
//       host: admin.localhost             # optional; no host matches every host
//       prefix: /users                    # required; starts with "/"
//       cluster: users                    # or target: "http[s]://host[:port]", not both
//       strip_prefix: false               # forward the path without the prefix
//       preserve_host: false              # send the client's Host upstream
// The prefix is a byte prefix of the path with dot-segments removed, query excluded
// ("/users" also matches "/users2"). Hosts are compared case-insensitively, without port or
// trailing dot.
class PathPrefixRouterFactory final : public registry::NamedHttpFilterFactory {
 public:
  std::string name() const override { return "path_prefix_router"; }
  registry::FilterCapabilities capabilities() const override {
    return {.terminal = false, .reads_body = false};
  }
  registry::HttpFilterFactoryCb createFilterFactory(const YAML::Node& config,
                                                    registry::FactoryContext& context) override;
};

}  // namespace proxy::filters::path_prefix_router
