// A plugin that needs a symbol neither the proxy nor its libraries define (as one built
// against another version of a library would): refused when loaded, not when first called.
#include "api/registry/plugin.h"

extern "C" int proxy_test_symbol_nobody_defines();

namespace {

class UndefinedSymbolPlugin final : public proxy::registry::Plugin {
 public:
  void registerFilters(proxy::registry::PluginRegistrar&) override {
    (void)proxy_test_symbol_nobody_defines();
  }
};

}  // namespace

PROXY_PLUGIN(UndefinedSymbolPlugin)
