#include "server/config_diff.h"

#include <yaml-cpp/yaml.h>

#include <map>

#include "common/router/route_names.h"
#include "server/config/config_printer.h"
#include "server/json_text.h"

namespace proxy::server {
namespace {

using ContentByName = std::map<std::string, std::string>;

ChangeSet compare(const ContentByName& running, const ContentByName& next) {
  ChangeSet changes;
  for (const auto& [name, content] : next) {
    auto it = running.find(name);
    if (it == running.end()) {
      changes.added.push_back(name);
    } else if (it->second != content) {
      changes.changed.push_back(name);
    }
  }
  for (const auto& [name, content] : running) {
    if (next.find(name) == next.end()) {
      changes.removed.push_back(name);
    }
  }
  return changes;
}

// node[key], or an undefined node (yaml-cpp throws on a missing key's node once asked its type).
YAML::Node child(const YAML::Node& node, const std::string& key) {
  if (!node.IsDefined() || !node.IsMap()) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  const YAML::Node found = node[key];
  return found.IsDefined() ? found : YAML::Node(YAML::NodeType::Undefined);
}

std::string scalarOr(const YAML::Node& node, const std::string& key, const std::string& fallback) {
  YAML::Node value = child(node, key);
  return value.IsDefined() && value.IsScalar() ? value.Scalar() : fallback;
}

// The rules of one router filter's config, named as its factory names them: explicit names
// first, then derived ones.
void collectRules(const std::string& prefix, const YAML::Node& list, bool virtual_hosts,
                  ContentByName& rules) {
  router::RouteNames names;
  for (const auto& rule : list) {
    if (std::string name = scalarOr(rule, "name", ""); !name.empty()) {
      names.reserve(name);
    }
  }
  for (const auto& rule : list) {
    std::string name = scalarOr(rule, "name", "");
    if (!name.empty()) {
      // explicit
    } else if (virtual_hosts) {
      YAML::Node hosts = child(rule, "hosts");
      name = names.derive(hosts.IsDefined() && hosts.IsSequence() && hosts.size() > 0 &&
                                  hosts[0].IsScalar()
                              ? hosts[0].Scalar()
                              : "virtual_host");
    } else {
      name = names.derive(scalarOr(rule, "host", "") + scalarOr(rule, "prefix", ""));
    }
    rules[prefix + name] = yamlToJson(rule);
  }
}

ContentByName routesOf(const Config& config) {
  ContentByName rules;
  for (const auto& listener : config.listeners) {
    for (const auto& filter : listener.filters) {
      YAML::Node http_filters = child(filter.config, "http_filters");
      if (filter.name != "http_connection_manager" || !http_filters.IsDefined() ||
          !http_filters.IsSequence()) {
        continue;
      }
      for (const auto& http_filter : http_filters) {
        YAML::Node filter_config = child(http_filter, "config");
        if (!filter_config.IsDefined() || !filter_config.IsMap()) {
          continue;
        }
        const std::string prefix =
            listener.name + "/" + scalarOr(http_filter, "name", "filter") + "/";
        for (const auto& [key, virtual_hosts] :
             {std::pair<const char*, bool>{"routes", false}, {"virtual_hosts", true}}) {
          YAML::Node list = child(filter_config, key);
          if (list.IsDefined() && list.IsSequence()) {
            collectRules(prefix, list, virtual_hosts, rules);
          }
        }
      }
    }
  }
  return rules;
}

}  // namespace

std::string ChangeSet::toJson() const {
  return "{\"added\":" + jsonStringArray(added) + ",\"removed\":" + jsonStringArray(removed) +
         ",\"changed\":" + jsonStringArray(changed) + "}";
}

std::string ConfigDiff::toJson() const {
  return "{\"listeners\":" + listeners.toJson() + ",\"clusters\":" + clusters.toJson() +
         ",\"routes\":" + routes.toJson() + ",\"settings\":" + jsonStringArray(settings) +
         ",\"restart_required\":" + jsonStringArray(restart_required) + "}";
}

std::string listenerContent(const ListenerConfig& listener) {
  return yamlToJson(YAML::Load(printListenerConfig(listener)));
}

std::string clusterContent(const ClusterConfig& cluster) {
  return yamlToJson(YAML::Load(printClusterConfig(cluster)));
}

ConfigDiff diffConfigs(const Config& running, const Config& next) {
  ConfigDiff diff;
  ContentByName running_listeners, next_listeners, running_clusters, next_clusters;
  for (const auto& listener : running.listeners) {
    running_listeners[listener.name] = listenerContent(listener);
  }
  for (const auto& listener : next.listeners) {
    next_listeners[listener.name] = listenerContent(listener);
  }
  for (const auto& cluster : running.clusters) {
    running_clusters[cluster.name] = clusterContent(cluster);
  }
  for (const auto& cluster : next.clusters) {
    next_clusters[cluster.name] = clusterContent(cluster);
  }
  diff.listeners = compare(running_listeners, next_listeners);
  diff.clusters = compare(running_clusters, next_clusters);
  diff.routes = compare(routesOf(running), routesOf(next));

  if (running.log_level != next.log_level) {
    diff.settings.push_back("log_level");
  }
  if (running.shutdown_timeout != next.shutdown_timeout) {
    diff.settings.push_back("shutdown_timeout");
  }
  if (running.workers != next.workers) {
    diff.restart_required.push_back("workers");
  }
  if (running.admin_address.toString() != next.admin_address.toString()) {
    diff.restart_required.push_back("admin.address");
  }
  // Who may use the admin API changes at once; where it listens needs a restart.
  if (running.admin.allowed_hosts != next.admin.allowed_hosts) {
    diff.settings.push_back("admin.allowed_hosts");
  }
  if (running.admin.token_file != next.admin.token_file ||
      running.admin.token != next.admin.token) {
    diff.settings.push_back("admin.token_file");
  }
  auto read_only = [](const Config& config) {
    return config.admin.read_only_address ? config.admin.read_only_address->toString() : "";
  };
  if (read_only(running) != read_only(next)) {
    diff.restart_required.push_back("admin.read_only_address");
  }
  return diff;
}

}  // namespace proxy::server
