// A plugin that registers the same network filter name twice: refused as a whole.
#include <memory>
#include <string>

#include "api/registry/plugin.h"

namespace {

using namespace proxy;

class TwiceFactory final : public registry::NamedNetworkFilterFactory {
 public:
  std::string name() const override { return "test_twice"; }
  registry::FilterCapabilities capabilities() const override { return {false, false}; }
  registry::NetworkFilterFactoryCb createFilterFactory(const YAML::Node&,
                                                       registry::FactoryContext&) override {
    return [](network::FilterManager&) {};
  }
};

class TwicePlugin final : public registry::Plugin {
 public:
  void registerFilters(registry::PluginRegistrar& registrar) override {
    registrar.addNetworkFilter(std::make_unique<TwiceFactory>());
    registrar.addNetworkFilter(std::make_unique<TwiceFactory>());
  }
};

}  // namespace

PROXY_PLUGIN(TwicePlugin)
