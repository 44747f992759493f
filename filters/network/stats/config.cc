#include "filters/network/stats/config.h"

#include "api/registry/registry.h"
#include "common/config/yaml_util.h"
#include "filters/network/stats/stats_filter.h"

namespace proxy::filters::network_stats {

registry::NetworkFilterFactoryCb StatsFactory::createFilterFactory(
    const YAML::Node& node, registry::FactoryContext& context) {
  config::checkKeys(node, "", {});
  stats::Scope& scope = context.scope();
  const stats::Labels listener{{"listener", context.listenerName()}};
  auto config = std::make_shared<StatsConfig>();
  config->connections_total = &scope.counter("proxy_listener_connections_total",
                                             "Connections accepted by the listener.", listener);
  config->connections_active = &scope.gauge("proxy_listener_connections_active",
                                            "Connections open on the listener.", listener);
  config->received_bytes = &scope.counter("proxy_listener_received_bytes_total",
                                          "Bytes received from downstream clients.", listener);
  config->sent_bytes = &scope.counter("proxy_listener_sent_bytes_total",
                                      "Bytes sent to downstream clients.", listener);
  config->spliced_bytes = &scope.counter(
      "proxy_listener_spliced_bytes_total",
      "Bytes of received and sent that moved with splice(2), not through user space.", listener);
  config->upstream_connect_failures =
      &scope.counter("proxy_listener_upstream_connect_failures_total",
                     "Connections whose upstream could not be connected.", listener);
  for (size_t i = 1; i < config->failures.size(); ++i) {
    auto cause = static_cast<network::FailureCause>(i);
    stats::Labels labels = listener;
    labels.emplace_back("cause", network::failureCauseName(cause));
    config->failures[i] = &scope.counter("proxy_listener_connection_failures_total",
                                         "Connections that ended in a failure, by cause.", labels);
  }
  const auto& chain = context.chainFilterNames();
  if (!chain.empty() && chain.back() == "tcp_proxy") {
    config->legacy_total =
        &scope.counter("tcp_connections_total_count", "TCP connections proxied since start.");
    config->legacy_active =
        &scope.gauge("tcp_connections_active_count", "TCP connections being proxied.");
  }
  return [config](network::FilterManager& manager) {
    manager.addFilter(std::make_shared<StatsFilter>(config));
  };
}

static registry::RegisterNetworkFilter<StatsFactory> registered;

}  // namespace proxy::filters::network_stats
