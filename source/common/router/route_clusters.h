#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <map>
#include <string>

#include "api/registry/filter_factory.h"
#include "api/upstream/cluster.h"

namespace proxy::router {

// Where each rule of a router filter's config sends its requests: `cluster: NAME`, one of
// the snapshot's clusters, or `target: "http[s]://host[:port]"`, a one-endpoint cluster made
// here and named after the authority ("127.0.0.1:8084"; "https://host:port" if the same
// authority is also used with the other scheme), shared by the rules of this filter that
// give the same URL. The snapshot makes the target's cluster (FactoryContext::targetCluster)
// and resolves and re-resolves its name on the main thread; a name that does not resolve
// leaves the endpoint's address invalid (its requests get 503), as for configured clusters;
// it is not a config error.
class RouteClusters {
 public:
  // Endpoints' connect timeout for inline targets, as for a configured cluster by default.
  static constexpr std::chrono::milliseconds kTargetConnectTimeout{5000};

  explicit RouteClusters(registry::FactoryContext& context)
      : context_(context), clusters_(context.clusterManager()) {}

  // The cluster of the rule map `rule`, found at `where` ("routes[2]"): exactly one of
  // `cluster` and `target` must be given. Throws registry::ConfigError naming the field.
  upstream::ClusterConstSharedPtr forRule(const YAML::Node& rule, const std::string& where);

 private:
  upstream::ClusterConstSharedPtr forTarget(const YAML::Node& target, const std::string& field);

  registry::FactoryContext& context_;
  const upstream::ClusterManager& clusters_;
  std::map<std::string, upstream::ClusterConstSharedPtr> by_url_;  // "scheme://authority"
  std::map<std::string, bool> tls_by_name_;                        // names already used
};

}  // namespace proxy::router
