// A plugin whose registerFilters() throws after registering one filter: refused, and that
// filter never becomes visible.
#include <memory>
#include <stdexcept>
#include <string>

#include "api/registry/plugin.h"

namespace {

using namespace proxy;

class UnusedFactory final : public registry::NamedHttpFilterFactory {
 public:
  std::string name() const override { return "test_throwing"; }
  registry::FilterCapabilities capabilities() const override { return {false, false}; }
  registry::HttpFilterFactoryCb createFilterFactory(const YAML::Node&,
                                                    registry::FactoryContext&) override {
    return [](http::FilterChainFactoryCallbacks&) {};
  }
};

class ThrowingPlugin final : public registry::Plugin {
 public:
  void registerFilters(registry::PluginRegistrar& registrar) override {
    registrar.addHttpFilter(std::make_unique<UnusedFactory>());
    throw std::runtime_error("test plugin setup failed");
  }
};

}  // namespace

PROXY_PLUGIN(ThrowingPlugin)
