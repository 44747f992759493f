#include "common/router/route_clusters.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include "common/config/yaml_util.h"

namespace proxy::router {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// A DNS name or IPv4 address; underscores allowed, as docker compose service names use them.
bool validName(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

bool validIpv6(std::string_view host) {
  return host.find(':') != std::string_view::npos &&
         std::all_of(host.begin(), host.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
         });
}

std::optional<uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) {
    return std::nullopt;
  }
  uint32_t port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port == 0 || port > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(port);
}

struct Authority {
  std::string host;  // IPv6 without brackets
  uint16_t port = 0;
};

// "host", "host:port", "[v6]" or "[v6]:port"; no userinfo.
std::optional<Authority> parseAuthority(std::string_view text, uint16_t default_port) {
  Authority out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    std::string_view host = text.substr(1, close - 1);
    if (!validIpv6(host)) {
      return std::nullopt;
    }
    out.host = std::string(host);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return std::nullopt;
      }
      port_text = rest.substr(1);
      if (port_text.empty()) {
        return std::nullopt;
      }
    }
  } else {
    size_t colon = text.find(':');
    std::string_view host = text.substr(0, colon);
    if (!validName(host)) {
      return std::nullopt;
    }
    out.host = lower(host);
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
      if (port_text.empty()) {
        return std::nullopt;
      }
    }
  }
  if (port_text.empty()) {
    out.port = default_port;
  } else if (auto port = parsePort(port_text)) {
    out.port = *port;
  } else {
    return std::nullopt;
  }
  return out;
}

}  // namespace

upstream::ClusterConstSharedPtr RouteClusters::forRule(const YAML::Node& rule,
                                                       const std::string& where) {
  auto name = config::optionalString(rule, where, "cluster");
  bool has_target = rule["target"].IsDefined() && !rule["target"].IsNull();
  if (name && has_target) {
    config::fail(rule["target"], config::fieldPath(where, "target"),
                 "expected either cluster or target, found both");
  }
  if (has_target) {
    return forTarget(rule["target"], config::fieldPath(where, "target"));
  }
  if (!name || name->empty()) {
    config::fail(name ? rule["cluster"] : rule, config::fieldPath(where, "cluster"),
                 "expected the name of a cluster (or a target URL), found " +
                     config::describe(rule["cluster"]));
  }
  upstream::ClusterConstSharedPtr cluster = clusters_.get(*name);
  if (cluster == nullptr) {
    config::fail(rule["cluster"], config::fieldPath(where, "cluster"),
                 "expected the name of a configured cluster, found " + quoted(*name));
  }
  return cluster;
}

upstream::ClusterConstSharedPtr RouteClusters::forTarget(const YAML::Node& target,
                                                         const std::string& field) {
  if (!target.IsScalar()) {
    config::fail(
        target, field,
        "expected a URL such as \"http://127.0.0.1:8080\", found " + config::describe(target));
  }
  const std::string& text = target.Scalar();
  size_t separator = text.find("://");
  if (separator == std::string::npos) {
    config::fail(target, field,
                 "expected an http:// or https:// URL, found " + config::describe(target));
  }
  std::string scheme = lower(std::string_view(text).substr(0, separator));
  if (scheme != "http" && scheme != "https") {
    config::fail(target, field, "expected scheme http or https, found " + quoted(scheme));
  }
  std::string_view after = std::string_view(text).substr(separator + 3);
  size_t end = after.find_first_of("/?#");
  if (end != std::string_view::npos && after.substr(end) != "/") {
    config::fail(target, field,
                 "expected a URL without a path, query or fragment (requests keep their own "
                 "path), found " +
                     config::describe(target));
  }
  bool tls = scheme == "https";
  auto authority = parseAuthority(after.substr(0, end), tls ? 443 : 80);
  if (!authority) {
    config::fail(target, field,
                 "expected a host and an optional port 1-65535 after " + scheme + "://, found " +
                     config::describe(target));
  }
  std::string host_text = authority->host.find(':') != std::string::npos
                              ? "[" + authority->host + "]"
                              : authority->host;
  std::string name = host_text + ":" + std::to_string(authority->port);
  std::string url = scheme + "://" + name;
  if (auto it = by_url_.find(url); it != by_url_.end()) {
    return it->second;
  }
  // The same authority under both schemes: the second gets the scheme in its name.
  if (auto it = tls_by_name_.find(name); it != tls_by_name_.end() && it->second != tls) {
    name = url;
  }
  tls_by_name_[name] = tls;

  upstream::Endpoint endpoint;
  endpoint.host = authority->host;
  endpoint.port = authority->port;
  endpoint.tls = tls;
  upstream::ClusterConstSharedPtr cluster = context_.targetCluster(name, endpoint);
  by_url_.emplace(url, cluster);
  return cluster;
}

}  // namespace proxy::router
