#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace proxy::server {

// The canonical config, after parsing either form (docs/behaviour.md §1) and validating everything
// that does not need a filter factory. Filter configs stay YAML: their factories validate
// them when the snapshot is built. Every element remembers where it came from (`field`, the
// path in the canonical form, and `mark`, the position in the file) for error messages.

// "HOST:PORT", ":PORT" (every interface, IPv4 and IPv6) or "[V6]:PORT".
struct HostPort {
  std::string host;  // empty for every interface; IPv6 without brackets
  uint16_t port = 0;
  bool wildcard() const { return host.empty(); }
  // The address as written in canonical form (":8020", "127.0.0.1:80", "[::1]:80").
  std::string toString() const;
};

struct FilterConfig {
  std::string name;
  YAML::Node config;  // the filter's `config:` node; may be undefined or null
  std::string field;  // "listeners[0].filters[1]"
  YAML::Mark mark;
};

struct ListenerConfig {
  std::string name;
  HostPort address;
  std::vector<FilterConfig> filters;
  uint32_t max_connections = 100000;  // per listener; over it new connections are closed
  std::string field;
  YAML::Mark mark;
};

struct EndpointConfig {
  std::string host;  // name or IP, IPv6 without brackets
  uint16_t port = 0;
  bool tls = false;  // from an https:// endpoint
};

// A cluster's `tls:` block: how its https endpoints are verified.
struct ClusterTlsConfig {
  std::string ca_file;  // PEM CAs to trust instead of the system store; empty: the system store
  std::string sni;      // server name sent and verified instead of each endpoint's host
  bool verify = true;   // false: no chain or name check (testing only)
  std::string field;    // "clusters[0].tls"
  YAML::Mark mark;
  YAML::Mark ca_file_mark;
};

// `passive_health` of a cluster: an endpoint whose connects fail this many times in a row is
// left out for ejection_time.
struct PassiveHealthConfig {
  uint32_t consecutive_failures = 5;  // 0: never eject
  std::chrono::milliseconds ejection_time{10000};
};

struct ClusterConfig {
  std::string name;
  std::vector<EndpointConfig> endpoints;
  std::string lb_policy = "round_robin";  // round_robin | least_request
  std::chrono::milliseconds connect_timeout{5000};
  PassiveHealthConfig passive_health;
  std::chrono::milliseconds dns_refresh_interval{30000};  // 0: resolved only at load
  std::optional<ClusterTlsConfig> tls;  // absent: the defaults, for https endpoints
  std::string field;
  YAML::Mark mark;
};

// The top-level `access_log`: one line per HTTP request and per TCP connection.
struct AccessLogConfig {
  std::string path;             // "stdout" or a file; empty: the access log is off
  std::string format = "text";  // text | json
  YAML::Mark mark;              // of `access_log.path`, for an error opening it
  bool enabled() const { return !path.empty(); }
};

// One entry of the top-level `plugins:`: a filter plugin library (api/registry/plugin.h),
// loaded before any filter name is checked.
struct PluginConfig {
  std::string path;   // absolute: a relative one is resolved against the config file's directory
  std::string field;  // "plugins[0]"
  YAML::Mark mark;
};

// `admin:` beyond its address (README.md, "Admin API"): who may use the endpoints that change or
// reveal config, and a second address serving only the probes and /metrics.
struct AdminConfig {
  // Host names (lower case, no port) accepted in Host besides IP literals and localhost.
  std::vector<std::string> allowed_hosts;
  // The file holding the bearer token, resolved beside the config; empty: no token needed.
  std::string token_file;
  // Its content, read at every load (so a reload re-reads it); never printed.
  std::string token;
  // Serves only /metrics, /ready and /healthz.
  std::optional<HostPort> read_only_address;
  YAML::Mark read_only_mark;  // of read_only_address, for an overlap found after INTERNAL_API_PORT
};

struct Config {
  std::string file;        // the path it was read from, for errors and logs
  bool seed_form = false;  // it was written in the Go program's form
  HostPort admin_address;  // after INTERNAL_API_PORT
  AdminConfig admin;
  std::string log_level = "info";  // debug | info | warn | error ("log" is read as info)
  uint32_t workers = 0;            // 0: one per core
  std::chrono::milliseconds shutdown_timeout{5000};
  std::vector<ClusterConfig> clusters;
  std::vector<ListenerConfig> listeners;
  AccessLogConfig access_log;
  std::vector<PluginConfig> plugins;  // in the order listed
  // Things that loaded but deserve a log line (an HTTP part not yet supported, ...).
  std::vector<std::string> warnings;
};

}  // namespace proxy::server
