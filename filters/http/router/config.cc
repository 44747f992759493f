#include "filters/http/router/config.h"

#include "api/http/recycled_memory.h"
#include "api/registry/registry.h"
#include "common/config/yaml_util.h"
#include "filters/http/router/router.h"

namespace proxy::filters::router {

registry::HttpFilterFactoryCb RouterFactory::createFilterFactory(
    const YAML::Node& node, registry::FactoryContext& context) {
  config::checkKeys(node, "", {"response_timeout", "buffer_limit"});
  auto config = std::make_shared<RouterConfig>();
  if (auto timeout = config::optionalDuration(node, "", "response_timeout")) {
    config->response_timeout = *timeout;
  }
  if (auto limit = config::optionalUint(node, "", "buffer_limit", 16 * 1024, 64 * 1024 * 1024)) {
    config->buffer_limit = static_cast<uint32_t>(*limit);
  }
  config->listener_name = context.listenerName();
  config->logger = &context.logger();
  RouterConfigConstSharedPtr shared = std::move(config);
  return [shared](http::FilterChainFactoryCallbacks& callbacks) {
    callbacks.addStreamDecoderFilter(
        std::allocate_shared<RouterFilter>(http::RecyclingAllocator<RouterFilter>(), shared));
  };
}

static registry::RegisterHttpFilter<RouterFactory> registered;

}  // namespace proxy::filters::router
