// A filter plugin for the tests (test/server/plugin_loader_test.cc,
// test/integration/test_plugins.py), written only against api/ as an out-of-tree plugin is:
//  - HTTP filter "test_plugin_header": adds the header `config.header` (default
//    "x-test-plugin") with `config.value` to every request, and answers 403 itself when the
//    path starts with `config.deny_prefix` (if set);
//  - network filter "test_plugin_pass": lets every byte through unchanged.
// The same source, built with a different PROXY_PLUGIN_ABI_VERSION, is the mismatched plugin.
#include <memory>
#include <string>

#include "api/registry/config_error.h"
#include "api/registry/plugin.h"

namespace {

using namespace proxy;

struct HeaderConfig {
  std::string header = "x-test-plugin";
  std::string value;
  std::string deny_prefix;
};

class HeaderFilter final : public http::StreamDecoderFilter {
 public:
  explicit HeaderFilter(std::shared_ptr<const HeaderConfig> config) : config_(std::move(config)) {}

  void setDecoderFilterCallbacks(http::StreamDecoderFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  http::FilterHeadersStatus decodeHeaders(http::RequestHeaderMap& headers, bool) override {
    if (!config_->deny_prefix.empty() && headers.path().rfind(config_->deny_prefix, 0) == 0) {
      callbacks_->sendLocalReply(403, "denied by test_plugin_header\n");
      return http::FilterHeadersStatus::kStopIteration;
    }
    headers.set(config_->header, config_->value);
    return http::FilterHeadersStatus::kContinue;
  }
  http::FilterDataStatus decodeData(buffer::Instance&, bool) override {
    return http::FilterDataStatus::kContinue;
  }
  http::FilterTrailersStatus decodeTrailers(http::HeaderMap&) override {
    return http::FilterTrailersStatus::kContinue;
  }
  void onDestroy() override {}

 private:
  std::shared_ptr<const HeaderConfig> config_;
  http::StreamDecoderFilterCallbacks* callbacks_ = nullptr;
};

class HeaderFilterFactory final : public registry::NamedHttpFilterFactory {
 public:
  std::string name() const override { return "test_plugin_header"; }
  registry::FilterCapabilities capabilities() const override { return {false, false}; }
  registry::HttpFilterFactoryCb createFilterFactory(const YAML::Node& node,
                                                    registry::FactoryContext&) override {
    auto config = std::make_shared<HeaderConfig>();
    // A missing key of a const node is an invalid node: IsDefined() first.
    auto scalar = [&node](const char* key) {
      return node[key].IsDefined() && node[key].IsScalar();
    };
    if (!node.IsDefined() || !node.IsMap() || !scalar("value")) {
      throw registry::ConfigError(node.IsDefined() ? node.Mark() : YAML::Mark::null_mark(), "",
                                  "expected a map with value (and header, deny_prefix)");
    }
    config->value = node["value"].Scalar();
    if (scalar("header")) {
      config->header = node["header"].Scalar();
    }
    if (scalar("deny_prefix")) {
      config->deny_prefix = node["deny_prefix"].Scalar();
    }
    return [config](http::FilterChainFactoryCallbacks& callbacks) {
      callbacks.addStreamDecoderFilter(std::make_shared<HeaderFilter>(config));
    };
  }
};

class PassFilter final : public network::ReadFilter {
 public:
  void initializeReadFilterCallbacks(network::ReadFilterCallbacks&) override {}
  network::FilterStatus onNewConnection() override { return network::FilterStatus::kContinue; }
  network::FilterStatus onData(buffer::Instance&, bool) override {
    return network::FilterStatus::kContinue;
  }
};

class PassFilterFactory final : public registry::NamedNetworkFilterFactory {
 public:
  std::string name() const override { return "test_plugin_pass"; }
  registry::FilterCapabilities capabilities() const override { return {false, false}; }
  registry::NetworkFilterFactoryCb createFilterFactory(const YAML::Node&,
                                                       registry::FactoryContext&) override {
    return [](network::FilterManager& manager) {
      manager.addReadFilter(std::make_shared<PassFilter>());
    };
  }
};

class TestPlugin final : public registry::Plugin {
 public:
  void registerFilters(registry::PluginRegistrar& registrar) override {
    registrar.addHttpFilter(std::make_unique<HeaderFilterFactory>());
    registrar.addNetworkFilter(std::make_unique<PassFilterFactory>());
  }
};

}  // namespace

PROXY_PLUGIN(TestPlugin)
