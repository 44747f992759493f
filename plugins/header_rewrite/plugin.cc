// The library's entry point: the proxy checks the ABI string, creates HeaderRewritePlugin
// and calls registerFilters() once, on its main thread.
#include "api/registry/plugin.h"
#include "config.h"

namespace proxy::plugins::header_rewrite {

class HeaderRewritePlugin final : public registry::Plugin {
 public:
  void registerFilters(registry::PluginRegistrar& registrar) override {
    registrar.addHttpFilter(std::make_unique<HeaderRewriteFactory>());
  }
};

}  // namespace proxy::plugins::header_rewrite

PROXY_PLUGIN(proxy::plugins::header_rewrite::HeaderRewritePlugin)
