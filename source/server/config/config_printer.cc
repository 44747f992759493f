#include "server/config/config_printer.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

#include <vector>

namespace proxy::server {

std::string formatDuration(std::chrono::milliseconds duration) {
  int64_t ms = duration.count();
  if (ms == 0) {
    return "0s";
  }
  // Whole units only: a fraction such as "1.5s" goes through floating point when parsed.
  std::string out = ms < 0 ? "-" : "";
  uint64_t rest = static_cast<uint64_t>(ms < 0 ? -ms : ms);
  constexpr std::pair<uint64_t, const char*> kUnits[] = {
      {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& [size, unit] : kUnits) {
    if (rest >= size) {
      out += std::to_string(rest / size) + unit;
      rest %= size;
    }
  }
  return out;
}

std::string formatEndpoint(const EndpointConfig& endpoint) {
  std::string address = HostPort{endpoint.host, endpoint.port}.toString();
  return endpoint.tls ? "https://" + address : address;
}

namespace {

void printClusters(YAML::Emitter& out, const std::vector<ClusterConfig>& clusters) {
  out << YAML::Key << "clusters" << YAML::Value;
  if (clusters.empty()) {
    out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
    return;
  }
  out << YAML::BeginSeq;
  for (const ClusterConfig& cluster : clusters) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << cluster.name;
    out << YAML::Key << "endpoints" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const EndpointConfig& endpoint : cluster.endpoints) {
      out << YAML::DoubleQuoted << formatEndpoint(endpoint);
    }
    out << YAML::EndSeq;
    out << YAML::Key << "lb_policy" << YAML::Value << cluster.lb_policy;
    out << YAML::Key << "connect_timeout" << YAML::Value << formatDuration(cluster.connect_timeout);
    out << YAML::Key << "passive_health" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "consecutive_failures" << YAML::Value
        << cluster.passive_health.consecutive_failures;
    out << YAML::Key << "ejection_time" << YAML::Value
        << formatDuration(cluster.passive_health.ejection_time);
    out << YAML::EndMap;
    out << YAML::Key << "dns_refresh_interval" << YAML::Value
        << formatDuration(cluster.dns_refresh_interval);
    if (cluster.tls) {
      out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
      if (!cluster.tls->ca_file.empty()) {
        out << YAML::Key << "ca_file" << YAML::Value << YAML::DoubleQuoted << cluster.tls->ca_file;
      }
      if (!cluster.tls->sni.empty()) {
        out << YAML::Key << "sni" << YAML::Value << YAML::DoubleQuoted << cluster.tls->sni;
      }
      out << YAML::Key << "verify" << YAML::Value << cluster.tls->verify;
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

// A copy of a filter's config in which every empty sequence or map is in flow style ("[]"),
// the only way YAML writes one and so how it reads back: a node the seed translation built
// in block style would otherwise print as "routes:\n  []" once and "routes: []" after a
// reload, and printing would not be a fixed point (found by the config fuzz target).
YAML::Node withFlowEmptyCollections(const YAML::Node& config) {
  YAML::Node copy = YAML::Clone(config);
  std::vector<YAML::Node> pending = {copy};
  while (!pending.empty()) {
    YAML::Node node = pending.back();
    pending.pop_back();
    if (!node.IsSequence() && !node.IsMap()) {
      continue;
    }
    if (node.size() == 0) {
      node.SetStyle(YAML::EmitterStyle::Flow);
      continue;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      pending.push_back(node.IsMap() ? it->second : *it);
    }
  }
  return copy;
}

bool hasControlCharacter(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

// Writes a filter's config. yaml-cpp picks a scalar's style by itself and writes a string
// ending in a CR plain, which reads back without it; such strings are double-quoted (and
// escaped) here, so printing stays a fixed point (found by the config fuzz target).
void emitFilterConfig(YAML::Emitter& out, const YAML::Node& node) {
  if (node.IsMap()) {
    if (node.Style() == YAML::EmitterStyle::Flow) {
      out << YAML::Flow;
    }
    out << YAML::BeginMap;
    for (auto it = node.begin(); it != node.end(); ++it) {
      out << YAML::Key;
      emitFilterConfig(out, it->first);
      out << YAML::Value;
      emitFilterConfig(out, it->second);
    }
    out << YAML::EndMap;
  } else if (node.IsSequence()) {
    if (node.Style() == YAML::EmitterStyle::Flow) {
      out << YAML::Flow;
    }
    out << YAML::BeginSeq;
    for (const YAML::Node& item : node) {
      emitFilterConfig(out, item);
    }
    out << YAML::EndSeq;
  } else if (node.IsScalar() && hasControlCharacter(node.Scalar())) {
    out << YAML::DoubleQuoted << node.Scalar();
  } else {
    out << node;
  }
}

void printListeners(YAML::Emitter& out, const std::vector<ListenerConfig>& listeners) {
  out << YAML::Key << "listeners" << YAML::Value;
  if (listeners.empty()) {
    out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
    return;
  }
  out << YAML::BeginSeq;
  for (const ListenerConfig& listener : listeners) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << listener.name;
    out << YAML::Key << "address" << YAML::Value << YAML::DoubleQuoted
        << listener.address.toString();
    out << YAML::Key << "max_connections" << YAML::Value << listener.max_connections;
    out << YAML::Key << "filters" << YAML::Value << YAML::BeginSeq;
    for (const FilterConfig& filter : listener.filters) {
      out << YAML::BeginMap;
      out << YAML::Key << "name" << YAML::Value << filter.name;
      if (filter.config.IsDefined() && !filter.config.IsNull()) {
        out << YAML::Key << "config" << YAML::Value;
        emitFilterConfig(out, withFlowEmptyCollections(filter.config));
      }
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

}  // namespace

std::string printCanonicalConfig(const Config& config) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  out << YAML::Key << "admin" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
      << "address" << YAML::Value << YAML::DoubleQuoted << config.admin_address.toString();
  if (!config.admin.allowed_hosts.empty()) {
    out << YAML::Key << "allowed_hosts" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const std::string& host : config.admin.allowed_hosts) {
      out << YAML::DoubleQuoted << host;
    }
    out << YAML::EndSeq;
  }
  // The path only: the token itself never leaves the process (config_dump prints this).
  if (!config.admin.token_file.empty()) {
    out << YAML::Key << "token_file" << YAML::Value << YAML::DoubleQuoted
        << config.admin.token_file;
  }
  if (config.admin.read_only_address) {
    out << YAML::Key << "read_only_address" << YAML::Value << YAML::DoubleQuoted
        << config.admin.read_only_address->toString();
  }
  out << YAML::EndMap;
  out << YAML::Key << "log_level" << YAML::Value << config.log_level;
  out << YAML::Key << "workers" << YAML::Value;
  if (config.workers == 0) {
    out << "auto";
  } else {
    out << config.workers;
  }
  out << YAML::Key << "shutdown_timeout" << YAML::Value << formatDuration(config.shutdown_timeout);
  printClusters(out, config.clusters);
  printListeners(out, config.listeners);
  if (config.access_log.enabled()) {
    out << YAML::Key << "access_log" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
        << "path" << YAML::Value << YAML::DoubleQuoted << config.access_log.path << YAML::Key
        << "format" << YAML::Value << config.access_log.format << YAML::EndMap;
  }
  if (!config.plugins.empty()) {
    out << YAML::Key << "plugins" << YAML::Value << YAML::BeginSeq;
    for (const PluginConfig& plugin : config.plugins) {
      out << YAML::DoubleQuoted << plugin.path;
    }
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string printClusterConfig(const ClusterConfig& cluster) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  printClusters(out, {cluster});
  out << YAML::EndMap;
  return out.c_str();
}

std::string printListenerConfig(const ListenerConfig& listener) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  printListeners(out, {listener});
  out << YAML::EndMap;
  return out.c_str();
}

}  // namespace proxy::server
