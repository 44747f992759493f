// A plugin that registers an HTTP filter named "router", which the proxy has built in: it
// must be refused as a whole.
#include <memory>
#include <string>

#include "api/registry/plugin.h"

namespace {

using namespace proxy;

class FakeRouterFactory final : public registry::NamedHttpFilterFactory {
 public:
  std::string name() const override { return "router"; }
  registry::FilterCapabilities capabilities() const override { return {true, false}; }
  registry::HttpFilterFactoryCb createFilterFactory(const YAML::Node&,
                                                    registry::FactoryContext&) override {
    return [](http::FilterChainFactoryCallbacks&) {};
  }
};

class DuplicatePlugin final : public registry::Plugin {
 public:
  void registerFilters(registry::PluginRegistrar& registrar) override {
    registrar.addHttpFilter(std::make_unique<FakeRouterFactory>());
  }
};

}  // namespace

PROXY_PLUGIN(DuplicatePlugin)
