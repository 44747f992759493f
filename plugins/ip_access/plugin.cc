// The library's entry point: the proxy checks the ABI string, creates IpAccessPlugin and
// calls registerFilters() once, on its main thread.
#include "api/registry/plugin.h"
#include "config.h"

namespace proxy::plugins::ip_access {

class IpAccessPlugin final : public registry::Plugin {
 public:
  void registerFilters(registry::PluginRegistrar& registrar) override {
    registrar.addNetworkFilter(std::make_unique<IpAccessFactory>());
  }
};

}  // namespace proxy::plugins::ip_access

PROXY_PLUGIN(proxy::plugins::ip_access::IpAccessPlugin)
