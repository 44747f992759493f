#include "filters/http/stats/config.h"

#include "api/http/recycled_memory.h"
#include "api/registry/registry.h"
#include "common/config/yaml_util.h"
#include "filters/http/stats/stats_filter.h"

namespace proxy::filters::http_stats {

registry::HttpFilterFactoryCb HttpStatsFactory::createFilterFactory(
    const YAML::Node& node, registry::FactoryContext& context) {
  config::checkKeys(node, "", {"buckets"});
  std::vector<double> buckets{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  if (node.IsMap() && node["buckets"].IsDefined()) {
    YAML::Node list = node["buckets"];
    if (!list.IsSequence() || list.size() == 0) {
      config::fail(list, "buckets",
                   "expected a list of increasing numbers, found " + config::describe(list));
    }
    buckets.clear();
    for (size_t i = 0; i < list.size(); ++i) {
      double bound = 0;
      if (!list[i].IsScalar() || !YAML::convert<double>::decode(list[i], bound) ||
          (!buckets.empty() && bound <= buckets.back())) {
        config::fail(
            list[i], config::indexPath("buckets", i),
            "expected a number larger than the one before, found " + config::describe(list[i]));
      }
      buckets.push_back(bound);
    }
  }
  auto config =
      std::make_shared<const StatsConfig>(context.scope(), context.listenerName(), buckets);
  return [config](http::FilterChainFactoryCallbacks& callbacks) {
    callbacks.addStreamFilter(
        std::allocate_shared<StatsFilter>(http::RecyclingAllocator<StatsFilter>(), config));
  };
}

static registry::RegisterHttpFilter<HttpStatsFactory> registered;

}  // namespace proxy::filters::http_stats
