// HTTP filter "sdk_example": sets the request header `x-sdk-example` to its config's
// `value`. Built out of tree with find_package(proxy) + proxy_add_plugin().
#include <memory>
#include <string>

#include "api/registry/config_error.h"
#include "api/registry/plugin.h"

namespace {

class SdkExampleFilter final : public proxy::http::StreamDecoderFilter {
 public:
  explicit SdkExampleFilter(std::shared_ptr<const std::string> value) : value_(std::move(value)) {}

  void setDecoderFilterCallbacks(proxy::http::StreamDecoderFilterCallbacks&) override {}
  proxy::http::FilterHeadersStatus decodeHeaders(proxy::http::RequestHeaderMap& headers,
                                                 bool) override {
    headers.set("x-sdk-example", *value_);
    return proxy::http::FilterHeadersStatus::kContinue;
  }
  proxy::http::FilterDataStatus decodeData(proxy::buffer::Instance&, bool) override {
    return proxy::http::FilterDataStatus::kContinue;
  }
  proxy::http::FilterTrailersStatus decodeTrailers(proxy::http::HeaderMap&) override {
    return proxy::http::FilterTrailersStatus::kContinue;
  }
  void onDestroy() override {}

 private:
  std::shared_ptr<const std::string> value_;
};

class SdkExampleFactory final : public proxy::registry::NamedHttpFilterFactory {
 public:
  std::string name() const override { return "sdk_example"; }
  proxy::registry::FilterCapabilities capabilities() const override { return {false, false}; }
  proxy::registry::HttpFilterFactoryCb createFilterFactory(
      const YAML::Node& config, proxy::registry::FactoryContext&) override {
    // A missing key of a const node is an invalid node: IsDefined() first.
    if (!config.IsDefined() || !config.IsMap() || !config["value"].IsDefined() ||
        !config["value"].IsScalar()) {
      throw proxy::registry::ConfigError(YAML::Mark::null_mark(), "value",
                                         "expected a string, found nothing");
    }
    auto value = std::make_shared<const std::string>(config["value"].Scalar());
    return [value](proxy::http::FilterChainFactoryCallbacks& callbacks) {
      callbacks.addStreamDecoderFilter(std::make_shared<SdkExampleFilter>(value));
    };
  }
};

class SdkExamplePlugin final : public proxy::registry::Plugin {
 public:
  void registerFilters(proxy::registry::PluginRegistrar& registrar) override {
    registrar.addHttpFilter(std::make_unique<SdkExampleFactory>());
  }
};

}  // namespace

PROXY_PLUGIN(SdkExamplePlugin)
