// A plugin that also registers a filter from a static object, as built-in filters do: that
// runs when the library is loaded, before the ABI check, so the proxy refuses the plugin
// and takes the filter out again.
#include <memory>
#include <string>

#include "api/registry/plugin.h"
#include "api/registry/registry.h"

namespace {

using namespace proxy;

class StaticFactory final : public registry::NamedHttpFilterFactory {
 public:
  std::string name() const override { return "test_static"; }
  registry::FilterCapabilities capabilities() const override { return {false, false}; }
  registry::HttpFilterFactoryCb createFilterFactory(const YAML::Node&,
                                                    registry::FactoryContext&) override {
    return [](http::FilterChainFactoryCallbacks&) {};
  }
};

registry::RegisterHttpFilter<StaticFactory> registered;

class StaticPlugin final : public registry::Plugin {
 public:
  void registerFilters(registry::PluginRegistrar&) override {}
};

}  // namespace

PROXY_PLUGIN(StaticPlugin)
