#include "server/config/config_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <vector>

#include <yaml-cpp/eventhandler.h>

#include "common/config/yaml_util.h"
#include "common/router/request_host.h"
#include "server/config/host_port.h"

namespace proxy::server {
namespace {

using config::checkKeys;
using config::describe;
using config::fail;
using config::fieldPath;
using config::indexPath;
using config::markOf;
using config::optionalBool;
using config::optionalDuration;
using config::optionalString;
using config::optionalUint;
using config::requiredString;

constexpr std::string_view kSeedOnlyKeys[] = {"tcp", "http_routes", "http_config"};
constexpr std::string_view kCanonicalOnlyKeys[] = {"admin",    "workers",   "shutdown_timeout",
                                                   "clusters", "listeners", "access_log"};
// Keys both forms accept: log_level, plugins.

// The one filter whose config the loader reads: its cluster must exist and must not be one of
// the proxy's own listeners (a connection loop). The factory validates the rest.
constexpr char kTcpProxy[] = "tcp_proxy";
constexpr char kHttpConnectionManager[] = "http_connection_manager";

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string fileKind(mode_t mode) {
  if (S_ISDIR(mode)) {
    return "a directory";
  }
  if (S_ISFIFO(mode)) {
    return "a FIFO";
  }
  if (S_ISCHR(mode) || S_ISBLK(mode)) {
    return "a device";
  }
  if (S_ISSOCK(mode)) {
    return "a socket";
  }
  return "not a file";
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string join(const std::vector<std::string>& names) {
  if (names.empty()) {
    return "(none)";
  }
  std::string out;
  for (const auto& name : names) {
    out += out.empty() ? "" : ", ";
    out += name;
  }
  return out;
}

// An error message is one printable line whatever a scalar in the file contains.
std::string oneLine(const std::string& text) { return config::escapeControlCharacters(text); }

std::string position(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) {
    return file + ": ";
  }
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + ": ";
}

std::string warning(const std::string& file, const YAML::Mark& mark, const std::string& field,
                    const std::string& message) {
  return oneLine(position(file, mark) + field + ": " + message);
}

YAML::Mark markOr(const YAML::Node& node, const YAML::Mark& fallback) {
  YAML::Mark mark = markOf(node);
  return mark.is_null() ? fallback : mark;
}

// The position of `key` itself in `map` (the line a reader looks for), else the map's.
YAML::Mark keyMark(const YAML::Node& map, std::string_view key) {
  if (map.IsDefined() && map.IsMap()) {
    for (const auto& item : map) {
      if (item.first.IsScalar() && item.first.Scalar() == key) {
        return item.first.Mark();
      }
    }
  }
  return markOf(map);
}

bool has(const YAML::Node& map, std::string_view key) {
  return map.IsDefined() && map.IsMap() && map[std::string(key)].IsDefined();
}

// A list that may be absent or null (empty).
YAML::Node optionalList(const YAML::Node& map, const std::string& where, const char* key) {
  YAML::Node list = map[key];
  if (!list.IsDefined() || list.IsNull()) {
    return YAML::Node(YAML::NodeType::Sequence);
  }
  if (!list.IsSequence()) {
    fail(list, fieldPath(where, key), "expected a list, found " + describe(list));
  }
  return list;
}

YAML::Node requiredList(const YAML::Node& map, const std::string& where, const char* key) {
  YAML::Node list = map[key];
  if (!list.IsDefined() || list.IsNull()) {
    fail(map, fieldPath(where, key), "expected a non-empty list, found nothing");
  }
  if (!list.IsSequence()) {
    fail(list, fieldPath(where, key), "expected a non-empty list, found " + describe(list));
  }
  if (list.size() == 0) {
    fail(list, fieldPath(where, key), "expected a non-empty list, found an empty list");
  }
  return list;
}

void requireMap(const YAML::Node& node, const std::string& where, const std::string& what) {
  if (!node.IsMap()) {
    fail(node, where, "expected " + what + ", found " + describe(node));
  }
}

std::optional<HostPort> optionalAddress(const YAML::Node& map, const std::string& where,
                                        const char* key) {
  auto text = optionalString(map, where, key);
  if (!text) {
    return std::nullopt;
  }
  auto address = parseHostPort(*text);
  if (!address) {
    fail(map[key], fieldPath(where, key),
         "expected an address such as \":8020\", \"127.0.0.1:8020\" or \"[::1]:8020\", found " +
             describe(map[key]));
  }
  return address;
}

// "scheme://authority/rest", split; nullopt when there is no "://".
struct Url {
  std::string scheme;  // lower case
  std::string_view authority;
  std::string_view rest;  // path, query and fragment
};

std::optional<Url> splitUrl(std::string_view text) {
  size_t separator = text.find("://");
  if (separator == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view after = text.substr(separator + 3);
  size_t end = after.find_first_of("/?#");
  return Url{lower(text.substr(0, separator)), after.substr(0, end),
             end == std::string_view::npos ? std::string_view() : after.substr(end)};
}

// "host", "host:port", "[v6]" or "[v6]:port" with a non-empty host and a port that can be
// dialled; no user info.
std::optional<HostPort> parseAuthority(std::string_view authority, uint16_t default_port) {
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return std::nullopt;
  }
  bool has_port = authority.back() != ']' && authority.find(':') != std::string_view::npos;
  std::string text(authority);
  if (!has_port) {
    text += ":" + std::to_string(default_port);
  }
  auto address = parseHostPort(text);
  if (!address || address->host.empty() || address->port == 0) {
    return std::nullopt;
  }
  return address;
}

bool isWebScheme(const std::string& scheme) { return scheme == "http" || scheme == "https"; }

EndpointConfig parseEndpoint(const YAML::Node& node, const std::string& field) {
  if (!node.IsScalar()) {
    fail(node, field, "expected an endpoint such as \"127.0.0.1:8080\", found " + describe(node));
  }
  const std::string& text = node.Scalar();
  if (auto url = splitUrl(text)) {
    if (!isWebScheme(url->scheme)) {
      fail(node, field, "expected scheme http or https, found " + quoted(url->scheme));
    }
    if (!url->rest.empty() && url->rest != "/") {
      fail(node, field,
           "expected an endpoint URL without a path, query or fragment, found " + describe(node));
    }
    bool tls = url->scheme == "https";
    auto address = parseAuthority(url->authority, tls ? 443 : 80);
    if (!address) {
      fail(node, field,
           "expected a host and an optional port 1-65535 after " + url->scheme + "://, found " +
               describe(node));
    }
    return EndpointConfig{address->host, address->port, tls};
  }
  auto address = parseHostPort(text);
  if (!address || address->host.empty() || address->port == 0) {
    fail(node, field,
         "expected \"host:port\", \"[v6]:port\" or an http:// or https:// URL, found " +
             describe(node));
  }
  return EndpointConfig{address->host, address->port, false};
}

// Whether connecting to `endpoint` reaches the listener bound at `listener`. Names are not
// resolved (that happens later, on the main thread); only what is certain from the text.
bool reaches(const EndpointConfig& endpoint, const HostPort& listener) {
  if (endpoint.port != listener.port || listener.port == 0) {
    return false;
  }
  std::string to = lower(endpoint.host);
  std::string at = lower(listener.host);
  if (to == at || (isAnyHost(at) && isLocalHost(to))) {
    return true;
  }
  bool to_loopback = to == "127.0.0.1" || to == "::1";
  bool at_loopback = at == "127.0.0.1" || at == "::1";
  return (to == "localhost" && at_loopback) || (at == "localhost" && to_loopback);
}

bool overlaps(const HostPort& a, const HostPort& b) {
  return a.port == b.port && a.port != 0 &&
         (isAnyHost(a.host) || isAnyHost(b.host) || lower(a.host) == lower(b.host));
}

std::string parseLogLevel(const YAML::Node& root) {
  auto level = optionalString(root, "", "log_level");
  if (!level) {
    return "info";
  }
  if (*level == "log") {
    return "info";  // the seed's name for it
  }
  if (*level == "debug" || *level == "info" || *level == "warn" || *level == "error") {
    return *level;
  }
  fail(root["log_level"], "log_level",
       "expected debug, info (or log), warn or error, found " + describe(root["log_level"]));
}

uint32_t parseWorkers(const YAML::Node& root) {
  const YAML::Node node = root["workers"];
  if (!node.IsDefined() || node.IsNull() || (node.IsScalar() && node.Scalar() == "auto")) {
    return 0;
  }
  const std::string text = node.IsScalar() ? node.Scalar() : "";
  bool digits = !text.empty() && text.size() <= 3 &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  uint32_t workers = digits ? static_cast<uint32_t>(std::stoul(text)) : 0;
  if (workers < 1 || workers > 256) {
    fail(node, "workers",
         "expected \"auto\" or a whole number from 1 to 256, found " + describe(node));
  }
  return workers;
}

// A relative path in the config is relative to the config file's directory, so a config
// and its CA file move together.
std::string pathBesideConfig(const std::string& config_file, const std::string& path) {
  const size_t slash = config_file.rfind('/');
  if (path.empty() || path.front() == '/' || slash == std::string::npos) {
    return path;
  }
  return config_file.substr(0, slash + 1) + path;
}

// A cluster's `tls:` block. The CA file must be a readable file now: a typo is a config
// error rather than a 502 on every request (its certificates are loaded when the snapshot
// is built).
ClusterTlsConfig parseClusterTls(const YAML::Node& cluster, const std::string& where,
                                 const std::string& config_file) {
  const YAML::Node node = cluster["tls"];
  const std::string field = fieldPath(where, "tls");
  if (!node.IsNull()) {
    requireMap(node, field, "a map with ca_file, sni and verify");
  }
  checkKeys(node, field, {"ca_file", "sni", "verify"});
  ClusterTlsConfig tls;
  tls.field = field;
  tls.mark = node.Mark();
  if (auto ca_file = optionalString(node, field, "ca_file")) {
    const std::string ca_field = fieldPath(field, "ca_file");
    tls.ca_file_mark = node["ca_file"].Mark();
    if (ca_file->empty()) {
      fail(node["ca_file"], ca_field,
           "expected the path of a PEM file of CA certificates, found \"\"");
    }
    tls.ca_file = pathBesideConfig(config_file, *ca_file);
    struct stat info {};
    std::string problem;
    if (::stat(tls.ca_file.c_str(), &info) != 0 || ::access(tls.ca_file.c_str(), R_OK) != 0) {
      problem = std::strerror(errno);
    } else if (!S_ISREG(info.st_mode)) {
      problem = "not a regular file";
    }
    if (!problem.empty()) {
      fail(node["ca_file"], ca_field,
           "expected a readable PEM file of CA certificates, found " + quoted(tls.ca_file) + ": " +
               problem);
    }
  }
  if (auto sni = optionalString(node, field, "sni")) {
    const bool valid = !sni->empty() && std::none_of(sni->begin(), sni->end(), [](char c) {
      return static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '\x7f';
    });
    if (!valid) {
      fail(node["sni"], fieldPath(field, "sni"),
           "expected a server name such as \"api.example.com\", found " + describe(node["sni"]));
    }
    tls.sni = *sni;
  }
  if (auto verify = optionalBool(node, field, "verify")) {
    tls.verify = *verify;
  }
  return tls;
}

// A cluster's `passive_health` map and `dns_refresh_interval`.
void parseClusterHealthAndDns(const YAML::Node& node, const std::string& where,
                              ClusterConfig& cluster) {
  if (has(node, "passive_health") && !node["passive_health"].IsNull()) {
    const YAML::Node health = node["passive_health"];
    const std::string health_where = fieldPath(where, "passive_health");
    if (!health.IsMap()) {
      fail(health, health_where,
           "expected a map with consecutive_failures and ejection_time, found " + describe(health));
    }
    checkKeys(health, health_where, {"consecutive_failures", "ejection_time"});
    if (auto failures = optionalUint(health, health_where, "consecutive_failures", 0, 1000)) {
      cluster.passive_health.consecutive_failures = static_cast<uint32_t>(*failures);
    }
    if (auto ejection = optionalDuration(health, health_where, "ejection_time")) {
      if (ejection->count() == 0) {
        fail(health["ejection_time"], fieldPath(health_where, "ejection_time"),
             "expected a duration above zero, found " + describe(health["ejection_time"]));
      }
      cluster.passive_health.ejection_time = *ejection;
    }
  }
  if (auto interval = optionalDuration(node, where, "dns_refresh_interval")) {
    if (interval->count() != 0 && interval->count() < 100) {
      fail(node["dns_refresh_interval"], fieldPath(where, "dns_refresh_interval"),
           "expected 0 (never) or a duration of at least 100ms, found " +
               describe(node["dns_refresh_interval"]));
    }
    cluster.dns_refresh_interval = *interval;
  }
}

void parseClusters(const YAML::Node& root, Config& config) {
  YAML::Node list = optionalList(root, "", "clusters");
  std::map<std::string, size_t> index_by_name;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node node = list[i];
    const std::string where = indexPath("clusters", i);
    requireMap(node, where, "a cluster map with name and endpoints");
    checkKeys(node, where,
              {"name", "endpoints", "lb_policy", "connect_timeout", "passive_health",
               "dns_refresh_interval", "tls"});
    ClusterConfig cluster;
    cluster.field = where;
    cluster.mark = node.Mark();
    cluster.name = requiredString(node, where, "name");
    if (auto [it, inserted] = index_by_name.emplace(cluster.name, i); !inserted) {
      fail(node["name"], fieldPath(where, "name"),
           "expected a name no other cluster has, found " + quoted(cluster.name) +
               ", the name of clusters[" + std::to_string(it->second) + "]");
    }
    YAML::Node endpoints = requiredList(node, where, "endpoints");
    for (size_t j = 0; j < endpoints.size(); ++j) {
      cluster.endpoints.push_back(
          parseEndpoint(endpoints[j], indexPath(fieldPath(where, "endpoints"), j)));
    }
    if (auto policy = optionalString(node, where, "lb_policy")) {
      if (*policy != "round_robin" && *policy != "least_request") {
        fail(node["lb_policy"], fieldPath(where, "lb_policy"),
             "expected round_robin or least_request, found " + describe(node["lb_policy"]));
      }
      cluster.lb_policy = *policy;
    }
    if (auto timeout = optionalDuration(node, where, "connect_timeout")) {
      if (timeout->count() == 0) {
        fail(node["connect_timeout"], fieldPath(where, "connect_timeout"),
             "expected a duration above zero, found " + describe(node["connect_timeout"]));
      }
      cluster.connect_timeout = *timeout;
    }
    parseClusterHealthAndDns(node, where, cluster);
    if (has(node, "tls")) {
      cluster.tls = parseClusterTls(node, where, config.file);
      const bool any_https = std::any_of(cluster.endpoints.begin(), cluster.endpoints.end(),
                                         [](const EndpointConfig& e) { return e.tls; });
      if (!any_https) {
        fail(node["tls"], fieldPath(where, "tls"),
             "expected an https:// endpoint for these TLS settings to apply to, found only plain "
             "endpoints");
      }
      if (!cluster.tls->verify) {
        // Valid, but an outage of security nobody would notice: said at every load.
        const YAML::Node verify = node["tls"]["verify"];
        config.warnings.push_back(warning(
            config.file, verify.Mark(), fieldPath(fieldPath(where, "tls"), "verify"),
            "false: cluster " + quoted(cluster.name) +
                " does not verify its upstreams' certificates or names; anyone on the path can "
                "read and change its traffic (for testing only)"));
      }
    }
    config.clusters.push_back(std::move(cluster));
  }
}

void parseListeners(const YAML::Node& root, Config& config) {
  YAML::Node list = optionalList(root, "", "listeners");
  std::map<std::string, size_t> index_by_name;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node node = list[i];
    const std::string where = indexPath("listeners", i);
    requireMap(node, where, "a listener map with address and filters");
    checkKeys(node, where, {"name", "address", "max_connections", "filters"});
    ListenerConfig listener;
    listener.field = where;
    auto address = optionalAddress(node, where, "address");
    if (!address) {
      fail(node, fieldPath(where, "address"),
           "expected an address such as \":8020\", found " + describe(node["address"]));
    }
    listener.address = *address;
    // Bind errors point at the address: that is what the reader changes.
    listener.mark = node["address"].Mark();
    auto name = optionalString(node, where, "name");
    if (name && name->empty()) {
      fail(node["name"], fieldPath(where, "name"), "expected a non-empty name, found \"\"");
    }
    listener.name = name ? *name : "listener_" + std::to_string(address->port);
    if (auto [it, inserted] = index_by_name.emplace(listener.name, i); !inserted) {
      fail(name ? node["name"] : node["address"], fieldPath(where, "name"),
           "expected a name no other listener has, found " + quoted(listener.name) +
               (name ? "" : " (derived from the port; give the listeners names)") +
               ", the name of listeners[" + std::to_string(it->second) + "]");
    }
    if (auto max = optionalUint(node, where, "max_connections", 1, 1000000)) {
      listener.max_connections = static_cast<uint32_t>(*max);
    }
    YAML::Node filters = requiredList(node, where, "filters");
    for (size_t k = 0; k < filters.size(); ++k) {
      const YAML::Node filter_node = filters[k];
      const std::string filter_where = indexPath(fieldPath(where, "filters"), k);
      requireMap(filter_node, filter_where, "a filter map with name and config");
      checkKeys(filter_node, filter_where, {"name", "config"});
      FilterConfig filter;
      filter.name = requiredString(filter_node, filter_where, "name");
      // Absent is stored as null: a zombie node from operator[] throws on most calls.
      if (has(filter_node, "config")) {
        filter.config = filter_node["config"];
      }
      filter.field = filter_where;
      filter.mark = filter_node.Mark();
      listener.filters.push_back(std::move(filter));
    }
    config.listeners.push_back(std::move(listener));
  }
}

// The token file is read at every load, so a reload picks up a new token; one trailing line
// break is dropped (echo adds it). An unreadable or empty file is a config error now rather
// than an admin API nobody can use.
std::string readTokenFile(const YAML::Node& node, const std::string& path) {
  const std::string field = "admin.token_file";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    fail(node, field,
         "expected a readable file holding the token, found " + quoted(path) + ": " +
             std::strerror(error));
  }
  std::string token;
  char buffer[4096];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int error = errno;
      ::close(fd);
      fail(node, field,
           "expected a readable file holding the token, found " + quoted(path) + ": " +
               std::strerror(error));
    }
    if (n == 0 || token.size() > 4096) {
      break;
    }
    token.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) {
    token.pop_back();
  }
  if (token.empty()) {
    fail(node, field, "expected a file holding the token, found " + quoted(path) + ": empty");
  }
  if (token.size() > 4096) {
    fail(node, field, "expected a token of at most 4096 bytes, found " + quoted(path) + ": larger");
  }
  // What a client can send in one header line: visible ASCII, no spaces.
  if (std::any_of(token.begin(), token.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f;
      })) {
    fail(node, field,
         "expected a token of visible ASCII characters without spaces, found other bytes in " +
             quoted(path));
  }
  return token;
}

// `admin: {address, allowed_hosts, token_file, read_only_address}`.
void parseAdmin(const YAML::Node& root, Config& config) {
  config.admin_address = *parseHostPort(kDefaultAdminAddress);
  const YAML::Node admin = root["admin"];
  checkKeys(admin, "admin", {"address", "allowed_hosts", "token_file", "read_only_address"});
  if (!admin.IsDefined() || !admin.IsMap()) {
    return;
  }
  if (auto address = optionalAddress(admin, "admin", "address")) {
    config.admin_address = *address;
  }
  YAML::Node hosts = optionalList(admin, "admin", "allowed_hosts");
  for (size_t i = 0; i < hosts.size(); ++i) {
    const std::string field = indexPath("admin.allowed_hosts", i);
    const YAML::Node item = hosts[i];
    const std::string host = item.IsScalar() ? router::normalizeHost(item.Scalar()) : std::string();
    // A name as a Host header carries it, without port: "proxy.internal".
    if (!item.IsScalar() || item.Scalar().find(':') != std::string::npos ||
        !router::isHostName(host)) {
      fail(item, field,
           "expected a host name without port such as \"proxy.internal\", found " + describe(item));
    }
    config.admin.allowed_hosts.push_back(host);
  }
  if (auto token_file = optionalString(admin, "admin", "token_file")) {
    if (token_file->empty()) {
      fail(admin["token_file"], "admin.token_file",
           "expected the path of a file holding the token, found \"\"");
    }
    config.admin.token_file = pathBesideConfig(config.file, *token_file);
    config.admin.token = readTokenFile(admin["token_file"], config.admin.token_file);
  }
  config.admin.read_only_address = optionalAddress(admin, "admin", "read_only_address");
  config.admin.read_only_mark = markOf(admin["read_only_address"]);
}

// The seed form (docs/behaviour.md §1), translated into canonical listeners and clusters.
class SeedTranslator {
 public:
  SeedTranslator(const YAML::Node& root, const NetworkFilterRegistry& filters, Config& config)
      : root_(root), filters_(filters), config_(config) {}

  void translate() {
    config_.seed_form = true;
    config_.admin_address = *parseHostPort(kSeedDefaultAdminAddress);
    readTcp();
    readHttpConfig();
    readRoutes();
    checkPorts();
    buildListeners();
  }

 private:
  struct Route {
    std::string name;
    std::string host;
    std::string prefix;
    std::string cluster;
    bool strip = false;
  };

  // ":" and a port number: the Go program listened on every interface.
  uint16_t seedPort(const YAML::Node& map, const std::string& where, const char* key) {
    std::string text = requiredString(map, where, key);
    auto address = text.starts_with(':') ? parseHostPort(text) : std::nullopt;
    if (!address) {
      fail(map[key], fieldPath(where, key),
           "expected \":\" and a port number such as \":8020\", found " + describe(map[key]));
    }
    return address->port;
  }

  // Clusters are named after the target authority, port explicit ("example.com:443"); the
  // same authority under both schemes gets the scheme in the second name.
  std::string clusterFor(const HostPort& address, bool tls, const YAML::Mark& mark) {
    std::string authority = address.toString();
    for (const std::string& name : {authority, (tls ? "https://" : "http://") + authority}) {
      auto it = std::find_if(config_.clusters.begin(), config_.clusters.end(),
                             [&](const ClusterConfig& c) { return c.name == name; });
      if (it == config_.clusters.end()) {
        ClusterConfig cluster;
        cluster.name = name;
        cluster.endpoints.push_back(EndpointConfig{address.host, address.port, tls});
        cluster.mark = mark;
        config_.clusters.push_back(std::move(cluster));
        return name;
      }
      if (it->endpoints.front().tls == tls) {
        return name;
      }
    }
    return authority;  // unreachable: the scheme-qualified name has one scheme
  }

  void readTcp() {
    const YAML::Node tcp = root_["tcp"];
    if (!tcp.IsDefined()) {
      return;
    }
    checkKeys(tcp, "tcp", {"port", "target"});
    tcp_port_ = seedPort(tcp, "tcp", "port");
    std::string text = requiredString(tcp, "tcp", "target");
    auto target = parseHostPort(text);
    if (!target || target->host.empty() || target->port == 0) {
      fail(tcp["target"], "tcp.target",
           "expected \"host:port\" such as \"localhost:8080\", found " + describe(tcp["target"]));
    }
    tcp_target_ = *target;
    tcp_cluster_ = clusterFor(*target, false, tcp["target"].Mark());
  }

  void readHttpConfig() {
    const YAML::Node http = root_["http_config"];
    if (!http.IsDefined()) {
      return;
    }
    checkKeys(http, "http_config", {"port", "shutdown_timeout"});
    if (has(http, "port") && !http["port"].IsNull()) {
      http_port_ = seedPort(http, "http_config", "port");
    }
    if (auto timeout = optionalDuration(http, "http_config", "shutdown_timeout")) {
      config_.shutdown_timeout = *timeout;
    }
  }

  void readRoutes() {
    YAML::Node list = optionalList(root_, "", "http_routes");
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node node = list[i];
      const std::string where = indexPath("http_routes", i);
      requireMap(node, where, "a route map with target, host and path_prefix");
      checkKeys(node, where, {"target", "host", "path_prefix", "strip_path_prefix"});
      std::string target_text = requiredString(node, where, "target");
      const YAML::Node target = node["target"];
      const std::string target_field = fieldPath(where, "target");
      auto url = splitUrl(target_text);
      if (!url) {
        fail(target, target_field,
             "expected an http:// or https:// URL, found " + describe(target));
      }
      if (!isWebScheme(url->scheme)) {
        fail(target, target_field, "expected scheme http or https, found " + quoted(url->scheme));
      }
      bool tls = url->scheme == "https";
      auto address = parseAuthority(url->authority, tls ? 443 : 80);
      if (!address) {
        fail(target, target_field,
             "expected a host and an optional port 1-65535 after " + url->scheme + "://, found " +
                 describe(target));
      }
      if (!url->rest.empty() && url->rest != "/") {
        config_.warnings.push_back(
            warning(config_.file, target.Mark(), target_field,
                    "the target's path " + quoted(url->rest) +
                        " is ignored, as the Go program did; requests keep their own path"));
      }
      Route route;
      route.host = optionalString(node, where, "host").value_or("");
      route.prefix = optionalString(node, where, "path_prefix").value_or("");
      // A Host header can only carry a host name (the port is ignored), so any other text
      // could never match a request.
      if (!route.host.empty() &&
          !proxy::router::isHostName(proxy::router::normalizeHost(route.host))) {
        fail(node["host"], fieldPath(where, "host"),
             "expected a host name such as \"example.com\", found " + describe(node["host"]));
      }
      // The Go program matched an empty prefix like an absent one: every path.
      if (route.prefix.empty()) {
        route.prefix = "/";
      } else if (route.prefix.front() != '/') {
        fail(node["path_prefix"], fieldPath(where, "path_prefix"),
             "expected a path starting with \"/\", found " + describe(node["path_prefix"]));
      }
      // A request path is visible ASCII (RFC 3986; anything else is percent-encoded).
      if (!std::all_of(route.prefix.begin(), route.prefix.end(),
                       [](char c) { return c > ' ' && c < 0x7f; })) {
        fail(node["path_prefix"], fieldPath(where, "path_prefix"),
             "expected a path of visible ASCII characters (percent-encode the others), found " +
                 describe(node["path_prefix"]));
      }
      route.strip = optionalBool(node, where, "strip_path_prefix").value_or(false);
      route.cluster = clusterFor(*address, tls, target.Mark());
      route.name = uniqueRouteName(route.host + route.prefix);
      warnIfShadowed(route, node, where);
      routes_.push_back(std::move(route));
    }
  }

  // Route names label metrics, so they must be unique even when the rules are not.
  std::string uniqueRouteName(const std::string& base) {
    std::string name = base;
    for (int n = 2; route_names_.contains(name); ++n) {
      name = base + "_" + std::to_string(n);
    }
    route_names_.insert(name);
    return name;
  }

  // First match wins, so a rule after one with the same host and a prefix of its prefix is
  // dead. The Go program accepted that silently; say so.
  void warnIfShadowed(const Route& route, const YAML::Node& node, const std::string& where) {
    for (size_t i = 0; i < routes_.size(); ++i) {
      const Route& earlier = routes_[i];
      if (lower(earlier.host) == lower(route.host) && route.prefix.starts_with(earlier.prefix)) {
        config_.warnings.push_back(warning(
            config_.file, node.Mark(), where,
            "this route never matches: http_routes[" + std::to_string(i) +
                "] comes first with the same host and path_prefix " + quoted(earlier.prefix)));
        return;
      }
    }
  }

  void checkPorts() {
    const YAML::Node http = root_["http_config"];
    if (!routes_.empty() && !http_port_) {
      fail(http.IsDefined() ? http : root_["http_routes"], "http_config.port",
           "expected a port such as \":8021\" for the http_routes, found nothing");
    }
    if (tcp_port_ && http_port_ && *tcp_port_ == *http_port_ && *tcp_port_ != 0) {
      fail(http["port"], "http_config.port",
           "expected a port different from tcp.port, found " +
               quoted(":" + std::to_string(*http_port_)) + " for both");
    }
    if (tcp_target_ && isLocalHost(tcp_target_->host)) {
      const EndpointConfig endpoint{tcp_target_->host, tcp_target_->port, false};
      const char* own = nullptr;
      if (tcp_port_ && reaches(endpoint, HostPort{"", *tcp_port_})) {
        own = "the proxy's own TCP listener (tcp.port)";
      } else if (http_port_ && reaches(endpoint, HostPort{"", *http_port_})) {
        own = "the proxy's own HTTP listener (http_config.port)";
      }
      if (own != nullptr) {
        fail(root_["tcp"]["target"], "tcp.target",
             "expected a target outside this proxy, found " + quoted(tcp_target_->toString()) +
                 ", which is " + own);
      }
    }
  }

  YAML::Node httpConnectionManagerConfig() const {
    YAML::Node routes(YAML::NodeType::Sequence);
    for (const Route& route : routes_) {
      YAML::Node rule;
      rule["name"] = route.name;
      if (!route.host.empty()) {
        rule["host"] = route.host;
      }
      rule["prefix"] = route.prefix;
      rule["cluster"] = route.cluster;
      if (route.strip) {
        rule["strip_prefix"] = true;
      }
      routes.push_back(rule);
    }
    YAML::Node stats;
    stats["name"] = "stats";
    YAML::Node router_config;
    router_config["routes"] = routes;
    YAML::Node prefix_router;
    prefix_router["name"] = "path_prefix_router";
    prefix_router["config"] = router_config;
    YAML::Node router;
    router["name"] = "router";
    YAML::Node http_filters(YAML::NodeType::Sequence);
    http_filters.push_back(stats);
    http_filters.push_back(prefix_router);
    http_filters.push_back(router);
    YAML::Node config;
    config["http_filters"] = http_filters;
    return config;
  }

  // A seed listener whose filters this build lacks (HTTP, until its filters exist) is skipped
  // with a warning, so the seed files keep loading; the canonical form makes it an error.
  bool supported(const ListenerConfig& listener, const std::string& section,
                 const YAML::Mark& mark) {
    for (const FilterConfig& filter : listener.filters) {
      if (filters_.get(filter.name) != nullptr) {
        continue;
      }
      std::string what =
          filter.name == kHttpConnectionManager
              ? "HTTP proxying is not yet supported by this build; the HTTP listener on "
              : "filter " + filter.name + " is not in this build; the listener on ";
      config_.warnings.push_back(
          warning(config_.file, mark, section, what + listener.address.toString() + " is skipped"));
      return false;
    }
    return true;
  }

  void buildListeners() {
    std::set<std::string> used_clusters;
    if (tcp_port_) {
      const YAML::Node tcp = root_["tcp"];
      YAML::Mark mark = keyMark(root_, "tcp");
      ListenerConfig listener;
      listener.name = "tcp";
      listener.address = HostPort{"", *tcp_port_};
      listener.mark = tcp["port"].Mark();
      YAML::Node proxy_config;
      proxy_config["cluster"] = tcp_cluster_;
      listener.filters.push_back(FilterConfig{"stats", YAML::Node(), "", mark});
      listener.filters.push_back(FilterConfig{kTcpProxy, proxy_config, "", mark});
      if (supported(listener, "tcp", mark)) {
        used_clusters.insert(tcp_cluster_);
        config_.listeners.push_back(std::move(listener));
      }
    }
    if (http_port_) {
      const char* section = has(root_, "http_routes") ? "http_routes" : "http_config";
      YAML::Mark mark = keyMark(root_, section);
      ListenerConfig listener;
      listener.name = "http";
      listener.address = HostPort{"", *http_port_};
      listener.mark = root_["http_config"]["port"].Mark();
      listener.filters.push_back(
          FilterConfig{kHttpConnectionManager, httpConnectionManagerConfig(), "", mark});
      if (supported(listener, section, mark)) {
        for (const Route& route : routes_) {
          used_clusters.insert(route.cluster);
        }
        config_.listeners.push_back(std::move(listener));
      }
    }
    // A skipped listener's clusters would only be resolved and never used.
    std::erase_if(config_.clusters,
                  [&](const ClusterConfig& c) { return !used_clusters.contains(c.name); });
    for (size_t i = 0; i < config_.clusters.size(); ++i) {
      config_.clusters[i].field = indexPath("clusters", i);
    }
    for (size_t i = 0; i < config_.listeners.size(); ++i) {
      ListenerConfig& listener = config_.listeners[i];
      listener.field = indexPath("listeners", i);
      for (size_t k = 0; k < listener.filters.size(); ++k) {
        listener.filters[k].field = indexPath(fieldPath(listener.field, "filters"), k);
      }
    }
  }

  const YAML::Node& root_;
  const NetworkFilterRegistry& filters_;
  Config& config_;
  std::optional<uint16_t> tcp_port_;
  std::optional<HostPort> tcp_target_;
  std::string tcp_cluster_;
  std::optional<uint16_t> http_port_;
  std::vector<Route> routes_;
  std::set<std::string> route_names_;
};

// Checks on the canonical model that hold for both forms.
void checkChains(const Config& config, const NetworkFilterRegistry& filters) {
  std::vector<std::string> terminal_names;
  for (const auto& name : filters.names()) {
    if (filters.get(name)->capabilities().terminal) {
      terminal_names.push_back(name);
    }
  }
  for (const ListenerConfig& listener : config.listeners) {
    for (size_t k = 0; k < listener.filters.size(); ++k) {
      const FilterConfig& filter = listener.filters[k];
      const auto* factory = filters.get(filter.name);
      if (factory == nullptr) {
        throw registry::ConfigError(filter.mark, fieldPath(filter.field, "name"),
                                    "unknown filter, expected one of: " + join(filters.names()) +
                                        ", found " + quoted(filter.name));
      }
      bool last = k + 1 == listener.filters.size();
      if (factory->capabilities().terminal && !last) {
        throw registry::ConfigError(filter.mark, fieldPath(filter.field, "name"),
                                    "terminal filter " + filter.name +
                                        " must be the last in the chain, found it before " +
                                        listener.filters[k + 1].name);
      }
      // Without a terminal filter nothing would ever answer the connection.
      if (!factory->capabilities().terminal && last) {
        throw registry::ConfigError(filter.mark, fieldPath(filter.field, "name"),
                                    "expected a terminal filter (" + join(terminal_names) +
                                        ") last in the chain, found " + quoted(filter.name));
      }
    }
  }
}

void checkListenerAddresses(const Config& config) {
  for (size_t j = 0; j < config.listeners.size(); ++j) {
    const ListenerConfig& listener = config.listeners[j];
    const std::string field = fieldPath(listener.field, "address");
    for (size_t i = 0; i < j; ++i) {
      const ListenerConfig& other = config.listeners[i];
      if (overlaps(other.address, listener.address)) {
        throw registry::ConfigError(listener.mark, field,
                                    "expected an address that does not overlap listener " +
                                        quoted(other.name) + " (" + other.field + ", " +
                                        quoted(other.address.toString()) + "), found " +
                                        quoted(listener.address.toString()));
      }
    }
    if (overlaps(config.admin_address, listener.address)) {
      throw registry::ConfigError(listener.mark, field,
                                  "expected an address that does not overlap the admin address " +
                                      quoted(config.admin_address.toString()) + ", found " +
                                      quoted(listener.address.toString()));
    }
    if (config.admin.read_only_address &&
        overlaps(*config.admin.read_only_address, listener.address)) {
      throw registry::ConfigError(
          listener.mark, field,
          "expected an address that does not overlap the admin read_only_address " +
              quoted(config.admin.read_only_address->toString()) + ", found " +
              quoted(listener.address.toString()));
    }
  }
  if (config.admin.read_only_address &&
      overlaps(*config.admin.read_only_address, config.admin_address)) {
    throw registry::ConfigError(config.admin.read_only_mark, "admin.read_only_address",
                                "expected an address that does not overlap admin.address " +
                                    quoted(config.admin_address.toString()) + ", found " +
                                    quoted(config.admin.read_only_address->toString()));
  }
}

void checkTcpProxyClusters(const Config& config) {
  std::vector<std::string> cluster_names;
  for (const ClusterConfig& cluster : config.clusters) {
    cluster_names.push_back(cluster.name);
  }
  for (const ListenerConfig& listener : config.listeners) {
    for (const FilterConfig& filter : listener.filters) {
      if (filter.name != kTcpProxy || !filter.config.IsDefined() || !filter.config.IsMap()) {
        continue;
      }
      const YAML::Node name = filter.config["cluster"];
      if (!name.IsDefined() || !name.IsScalar()) {
        continue;  // the factory says what is wrong
      }
      const std::string field = fieldPath(filter.field, "config.cluster");
      const YAML::Mark mark = markOr(name, filter.mark);
      auto cluster = std::find_if(config.clusters.begin(), config.clusters.end(),
                                  [&](const ClusterConfig& c) { return c.name == name.Scalar(); });
      if (cluster == config.clusters.end()) {
        throw registry::ConfigError(mark, field,
                                    "unknown cluster, expected one of: " + join(cluster_names) +
                                        ", found " + quoted(name.Scalar()));
      }
      for (const EndpointConfig& endpoint : cluster->endpoints) {
        if (endpoint.tls) {
          throw registry::ConfigError(
              mark, field,
              "expected a cluster of plain TCP endpoints (tcp_proxy does not speak TLS), found " +
                  quoted(cluster->name) + ", whose endpoint https://" +
                  HostPort{endpoint.host, endpoint.port}.toString() + " is https");
        }
        for (const ListenerConfig& own : config.listeners) {
          if (reaches(endpoint, own.address)) {
            throw registry::ConfigError(mark, field,
                                        "expected a cluster outside this proxy, found " +
                                            quoted(cluster->name) + ", whose endpoint " +
                                            HostPort{endpoint.host, endpoint.port}.toString() +
                                            " is this proxy's listener " + quoted(own.name) + " (" +
                                            own.address.toString() + ")");
          }
        }
      }
    }
  }
}

void applyEnvironment(Config& config, const EnvLookup& env) {
  auto value = env ? env("INTERNAL_API_PORT") : std::nullopt;
  if (!value || value->empty()) {
    return;
  }
  auto address = parseHostPort(*value);
  if (!address) {
    throw ConfigFileError(
        oneLine("environment: INTERNAL_API_PORT: expected a port such as \":42007\" or HOST:PORT, "
                "found " +
                quoted(*value)));
  }
  config.admin_address = *address;
}

// `access_log: { path: stdout|FILE, format: text|json }`; absent: off.
void parseAccessLog(const YAML::Node& root, Config& config) {
  if (!has(root, "access_log")) {
    return;
  }
  YAML::Node node = root["access_log"];
  requireMap(node, "access_log", "a map with path and format");
  checkKeys(node, "access_log", {"path", "format"});
  config.access_log.path = requiredString(node, "access_log", "path");
  config.access_log.mark = node["path"].Mark();
  if (config.access_log.path.empty()) {
    fail(node["path"], "access_log.path", "expected stdout or a file path, found \"\"");
  }
  if (auto format = optionalString(node, "access_log", "format")) {
    if (*format != "text" && *format != "json") {
      fail(node["format"], "access_log.format",
           "expected text or json, found " + describe(node["format"]));
    }
    config.access_log.format = *format;
  }
}

// `path` from the working directory, without "." and ".." segments or doubled slashes.
// (<filesystem> is not included here: its std::quoted would clash with quoted().)
std::string absoluteNormalPath(const std::string& path) {
  std::string full = path;
  if (full.empty() || full.front() != '/') {
    char cwd[PATH_MAX];
    full = std::string(::getcwd(cwd, sizeof(cwd)) != nullptr ? cwd : ".") + "/" + full;
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= full.size()) {
    size_t slash = full.find('/', start);
    if (slash == std::string::npos) {
      slash = full.size();
    }
    std::string part = full.substr(start, slash - start);
    if (part == "..") {
      if (!parts.empty()) {
        parts.pop_back();
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  std::string out;
  for (const auto& part : parts) {
    out += "/" + part;
  }
  return out.empty() ? "/" : out;
}

// `plugins: [PATH, ...]`: filter plugin libraries, each once; absent: none.
void parsePlugins(const YAML::Node& root, Config& config) {
  YAML::Node list = optionalList(root, "", "plugins");
  std::set<std::string> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string field = indexPath("plugins", i);
    const YAML::Node item = list[i];
    if (!item.IsScalar() || item.Scalar().empty()) {
      fail(item, field, "expected the path of a plugin library (.so), found " + describe(item));
    }
    std::string path = pathBesideConfig(config.file, item.Scalar());
    // Absolute, so dlopen never searches the library path and the same file is always
    // named the same way (reload compares plugins by path).
    path = absoluteNormalPath(path);
    if (!seen.insert(path).second) {
      fail(item, field, "expected each plugin once, found " + quoted(path) + " again");
    }
    config.plugins.push_back(PluginConfig{path, field, item.Mark()});
  }
}

Config parseRoot(const YAML::Node& root, const std::string& file_name, const EnvLookup& env,
                 const NetworkFilterRegistry& filters, const PluginStager& stage_plugins) {
  if (!root.IsMap()) {
    fail(root, "(top level)", "expected a map of settings, found " + describe(root));
  }
  Config config;
  config.file = file_name;
  std::string seed_key;
  for (auto key : kSeedOnlyKeys) {
    if (seed_key.empty() && has(root, key)) {
      seed_key = key;
    }
  }
  if (!seed_key.empty()) {
    for (auto key : kCanonicalOnlyKeys) {
      if (has(root, key)) {
        throw registry::ConfigError(keyMark(root, key), std::string(key),
                                    "expected only the seed form's keys (tcp, http_routes, "
                                    "http_config, log_level, plugins) "
                                    "beside " +
                                        seed_key + ", found the canonical form's " +
                                        std::string(key));
      }
    }
    checkKeys(root, "", {"tcp", "http_routes", "http_config", "log_level", "plugins"});
  } else {
    checkKeys(root, "",
              {"admin", "log_level", "workers", "shutdown_timeout", "clusters", "listeners",
               "access_log", "plugins"});
  }
  config.log_level = parseLogLevel(root);
  parsePlugins(root, config);
  if (stage_plugins) {
    stage_plugins(config.file, config.plugins);
  }
  if (!seed_key.empty()) {
    SeedTranslator(root, filters, config).translate();
  } else {
    config.workers = parseWorkers(root);
    if (auto timeout = optionalDuration(root, "", "shutdown_timeout")) {
      config.shutdown_timeout = *timeout;
    }
    parseAdmin(root, config);
    parseClusters(root, config);
    parseListeners(root, config);
    parseAccessLog(root, config);
  }
  applyEnvironment(config, env);
  checkChains(config, filters);
  checkListenerAddresses(config);
  checkTcpProxyClusters(config);
  return config;
}

// yaml-cpp 0.7's LoadAll never returns on some broken streams: from ", x" it makes empty
// documents forever, without consuming a byte, until memory runs out. A first pass that only
// watches where each document starts refuses the stream at the first one that does not move
// on (found by the config fuzz target).
class DocumentStarts final : public YAML::EventHandler {
 public:
  // YAML::EventHandler
  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  std::vector<YAML::Mark> marks;
};

void checkDocumentsAdvance(const std::string& yaml_text) {
  std::istringstream stream(yaml_text);
  YAML::Parser parser(stream);
  DocumentStarts starts;
  while (parser.HandleNextDocument(starts)) {
    const size_t n = starts.marks.size();
    if (n >= 2 && starts.marks[n - 1].pos <= starts.marks[n - 2].pos) {
      const YAML::Mark& mark = starts.marks[n - 1];
      const std::string found = mark.pos >= 0 && static_cast<size_t>(mark.pos) < yaml_text.size()
                                    ? quoted(std::string(1, yaml_text[mark.pos]))
                                    : "the end of the file";
      throw YAML::ParserException(mark, "expected a YAML node, found " + found);
    }
  }
}

}  // namespace

EnvLookup processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
  };
}

std::string formatConfigError(const std::string& file, const registry::ConfigError& error,
                              const std::string& field_prefix, const YAML::Mark& fallback_mark) {
  std::string field = error.field();
  if (!field_prefix.empty()) {
    field = field.empty()          ? field_prefix
            : field.front() == '[' ? field_prefix + field
                                   : field_prefix + "." + field;
  }
  if (field.empty()) {
    field = "(top level)";
  }
  const YAML::Mark& mark = error.mark().is_null() ? fallback_mark : error.mark();
  return oneLine(position(file, mark) + field + ": " + error.what());
}

Config parseConfig(const std::string& yaml_text, const std::string& file_name, const EnvLookup& env,
                   const NetworkFilterRegistry& filters, const PluginStager& stage_plugins) {
  try {
    checkDocumentsAdvance(yaml_text);
    std::vector<YAML::Node> documents = YAML::LoadAll(yaml_text);
    if (documents.empty()) {
      throw ConfigFileError(oneLine(file_name +
                                    ":1:1: (top level): expected a map of settings, found an "
                                    "empty document"));
    }
    if (documents.size() > 1) {
      fail(documents[1], "(top level)",
           "expected one YAML document, found " + std::to_string(documents.size()));
    }
    return parseRoot(documents.front(), file_name, env, filters, stage_plugins);
  } catch (const registry::ConfigError& error) {
    throw ConfigFileError(formatConfigError(file_name, error));
  } catch (const YAML::Exception& error) {
    throw ConfigFileError(oneLine(position(file_name, error.mark) + "(yaml): " + error.msg));
  }
}

Config parseConfig(const std::string& yaml_text, const std::string& file_name,
                   const EnvLookup& env) {
  return parseConfig(yaml_text, file_name, env, registry::networkFilters());
}

Config loadConfigFile(const std::string& path, const EnvLookup& env,
                      const NetworkFilterRegistry& filters, const PluginStager& stage_plugins) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    throw ConfigFileError(oneLine(path + ": cannot read: " + std::strerror(errno)));
  }
  // A device, FIFO or socket could be read forever (/dev/zero) or block the reload; a huge
  // file is a mistake, not a config. Either would stall the main thread.
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    int error = errno;
    ::close(fd);
    throw ConfigFileError(oneLine(path + ": cannot read: " + std::strerror(error)));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    throw ConfigFileError(oneLine(path + ": not a regular file (" + fileKind(info.st_mode) +
                                  "); give the path of a config file"));
  }
  if (static_cast<uint64_t>(info.st_size) > kMaxConfigFileBytes) {
    ::close(fd);
    throw ConfigFileError(oneLine(path + ": file too large: " + std::to_string(info.st_size) +
                                  " bytes, at most " + std::to_string(kMaxConfigFileBytes)));
  }
  std::string text;
  char buffer[65536];
  while (true) {
    if (text.size() > kMaxConfigFileBytes) {
      // It grew while being read.
      ::close(fd);
      throw ConfigFileError(oneLine(path + ": file too large: over " +
                                    std::to_string(kMaxConfigFileBytes) + " bytes"));
    }
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int error = errno;
      ::close(fd);
      throw ConfigFileError(oneLine(path + ": cannot read: " + std::strerror(error)));
    }
    if (n == 0) {
      break;
    }
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return parseConfig(text, path, env, filters, stage_plugins);
}

Config loadConfigFile(const std::string& path, const EnvLookup& env) {
  return loadConfigFile(path, env, registry::networkFilters());
}

}  // namespace proxy::server

namespace proxy::server {

Config loadConfigFile(const std::string& path, const EnvLookup& env,
                      const PluginStager& stage_plugins) {
  return loadConfigFile(path, env, registry::networkFilters(), stage_plugins);
}

}  // namespace proxy::server
