#pragma once

#include "api/registry/filter_factory.h"

namespace proxy::filters::tcp_proxy {

// `tcp_proxy`: config { cluster: NAME, idle_timeout: DURATION (default 1h, "0" disables),
// buffer_limit: BYTES (default 1 MiB), splice: BOOL (default true: bytes move with splice(2)
// when no filter of the chain reads them and both sides are plain TCP) }.
class TcpProxyFactory final : public registry::NamedNetworkFilterFactory {
 public:
  std::string name() const override { return "tcp_proxy"; }
  registry::FilterCapabilities capabilities() const override {
    return {.terminal = true, .reads_body = false};
  }
  registry::NetworkFilterFactoryCb createFilterFactory(const YAML::Node& config,
                                                       registry::FactoryContext& context) override;
};

}  // namespace proxy::filters::tcp_proxy
