#pragma once

#include <string>
#include <vector>

#include "server/config/config_model.h"

namespace proxy::server {

// Names added, removed and changed between two configs, each list sorted.
struct ChangeSet {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::vector<std::string> changed;

  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
  // {"added":[...],"removed":[...],"changed":[...]}
  std::string toJson() const;
};

// What a reload changes (docs/behaviour.md §7), compared by content, never by position:
// - listeners by name; changed when the address, the limit or any filter config differs;
// - clusters by name; changed when any field differs;
// - routes as "LISTENER/FILTER/ROUTE" for every rule of a router filter (a `routes` or
//   `virtual_hosts` entry under http_connection_manager's http_filters), named as the router
//   names them (`name`, else host+prefix or the first host); changed when the rule differs;
// - settings applied at once (log_level, shutdown_timeout) and settings that need a restart
//   (workers, admin.address), by their canonical field names.
struct ConfigDiff {
  ChangeSet listeners;
  ChangeSet clusters;
  ChangeSet routes;
  std::vector<std::string> settings;
  std::vector<std::string> restart_required;

  // {"listeners":{...},"clusters":{...},"routes":{...},"settings":[...],
  //  "restart_required":[...]}
  std::string toJson() const;
};

ConfigDiff diffConfigs(const Config& running, const Config& next);

// What a listener or cluster is, for comparing by content: equal strings mean equal configs,
// whatever the YAML style (flow or block) or the position in the file.
std::string listenerContent(const ListenerConfig& listener);
std::string clusterContent(const ClusterConfig& cluster);

}  // namespace proxy::server
