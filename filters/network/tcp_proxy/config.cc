#include "filters/network/tcp_proxy/config.h"

#include "api/registry/registry.h"
#include "common/config/yaml_util.h"
#include "filters/network/tcp_proxy/tcp_proxy.h"

namespace proxy::filters::tcp_proxy {

registry::NetworkFilterFactoryCb TcpProxyFactory::createFilterFactory(
    const YAML::Node& node, registry::FactoryContext& context) {
  config::checkKeys(node, "",
                    {"cluster", "idle_timeout", "buffer_limit", "splice", "delayed_close_timeout"});
  if (!node.IsDefined() || node.IsNull()) {
    config::fail(node, "cluster", "expected the name of a cluster, found nothing");
  }
  auto config = std::make_shared<TcpProxyConfig>();
  std::string cluster_name = config::requiredString(node, "", "cluster");
  config->cluster = context.clusterManager().get(cluster_name);
  if (config->cluster == nullptr) {
    config::fail(node["cluster"], "cluster",
                 "expected the name of a configured cluster, found \"" + cluster_name + "\"");
  }
  if (config->cluster->hosts().empty()) {
    config::fail(node["cluster"], "cluster",
                 "expected a cluster with endpoints, found \"" + cluster_name + "\" with none");
  }
  if (auto idle = config::optionalDuration(node, "", "idle_timeout")) {
    config->idle_timeout = *idle;
  }
  if (auto limit = config::optionalUint(node, "", "buffer_limit", 16 * 1024, 64 * 1024 * 1024)) {
    config->buffer_limit = static_cast<uint32_t>(*limit);
  }
  if (auto delay = config::optionalDuration(node, "", "delayed_close_timeout")) {
    config->delayed_close_timeout = *delay;
  }
  if (auto splice = config::optionalBool(node, "", "splice")) {
    config->splice = *splice;
  }
  // Splicing skips every filter's onData(): only when no filter of the chain reads bytes.
  for (const std::string& name : context.chainFilterNames()) {
    const registry::NamedNetworkFilterFactory* factory = registry::networkFilters().get(name);
    if (factory == nullptr || factory->capabilities().reads_body) {
      config->splice = false;
    }
  }
  config->listener_name = context.listenerName();
  config->logger = &context.logger();
  config->access_log = context.accessLog();
  return [config](network::FilterManager& manager) {
    manager.addReadFilter(std::make_shared<TcpProxyFilter>(config));
  };
}

static registry::RegisterNetworkFilter<TcpProxyFactory> registered;

}  // namespace proxy::filters::tcp_proxy
