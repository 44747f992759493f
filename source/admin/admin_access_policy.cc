#include "admin/admin_access_policy.h"

#include <arpa/inet.h>

#include <algorithm>

#include "common/router/request_host.h"

namespace proxy::admin {
namespace {

// ASCII case-insensitive, for header names and the few values compared here.
bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return http::headerNameEquals(a, b);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// The host part of a Host value, or nullopt when what follows it is not ":digits".
std::optional<std::string_view> hostPart(std::string_view value) {
  std::string_view host = value;
  std::string_view rest;
  if (!value.empty() && value.front() == '[') {
    size_t close = value.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    host = value.substr(0, close + 1);
    rest = value.substr(close + 1);
  } else if (size_t colon = value.find(':'); colon != std::string_view::npos) {
    host = value.substr(0, colon);
    rest = value.substr(colon);
  }
  if (!rest.empty()) {
    if (rest.size() < 2 || rest.front() != ':' ||
        !std::all_of(rest.begin() + 1, rest.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
  }
  return host;
}

bool isIpLiteral(const std::string& host) {
  unsigned char address[16];
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), address) == 1;
  }
  return inet_pton(AF_INET, host.c_str(), address) == 1;
}

// Time depends on the expected token's length only, never on where a guess goes wrong.
bool constantTimeEquals(std::string_view given, std::string_view expected) {
  volatile unsigned char difference = given.size() != expected.size() ? 1 : 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    difference = difference | (g ^ static_cast<unsigned char>(expected[i]));
  }
  return difference == 0;
}

AdminAccessPolicy::Verdict refuse(int status, std::string body) {
  return AdminAccessPolicy::Verdict{status, std::move(body), ""};
}

}  // namespace

AdminAccessPolicy::AdminAccessPolicy(std::vector<std::string> allowed_hosts, std::string token)
    : allowed_hosts_(std::move(allowed_hosts)), token_(std::move(token)) {}

AdminAccessPolicy::Endpoint AdminAccessPolicy::endpointOf(std::string_view path) {
  if (path == "/metrics") {
    return Endpoint::kMetrics;
  }
  if (path == "/ready") {
    return Endpoint::kReady;
  }
  if (path == "/healthz") {
    return Endpoint::kHealthz;
  }
  if (path == "/route") {
    return Endpoint::kRoute;
  }
  if (path == "/reload") {
    return Endpoint::kReload;
  }
  if (path == "/config_dump") {
    return Endpoint::kConfigDump;
  }
  return Endpoint::kUnknown;
}

bool AdminAccessPolicy::isProbe(Endpoint endpoint) {
  return endpoint == Endpoint::kMetrics || endpoint == Endpoint::kReady ||
         endpoint == Endpoint::kHealthz;
}

bool AdminAccessPolicy::hostAllowed(std::optional<std::string_view> value) const {
  if (!value) {
    return false;
  }
  auto host_part = hostPart(trim(*value));
  if (!host_part || host_part->empty()) {
    return false;
  }
  const std::string host = router::normalizeHost(*host_part);
  if (!router::isHostName(host)) {
    return false;
  }
  if (host == "localhost" || isIpLiteral(host)) {
    return true;
  }
  return std::find(allowed_hosts_.begin(), allowed_hosts_.end(), host) != allowed_hosts_.end();
}

bool AdminAccessPolicy::forwardedHostsAllowed(const http::RequestHeaderMap& headers) const {
  for (const auto& entry : headers.entries()) {
    if (!equalsIgnoreCase(entry.name, "x-forwarded-host")) {
      continue;
    }
    // A list when several proxies added to it: each must pass.
    std::string_view rest = entry.value;
    while (true) {
      const size_t comma = rest.find(',');
      if (!hostAllowed(trim(rest.substr(0, comma)))) {
        return false;
      }
      if (comma == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(comma + 1);
    }
  }
  return true;
}

bool AdminAccessPolicy::browserOriginated(const http::RequestHeaderMap& headers) {
  // Browsers send Origin with every cross-site request but a plain navigation, and
  // Sec-Fetch-Site with every request; curl and Prometheus send neither.
  if (headers.count("origin") > 0) {
    return true;
  }
  for (const auto& entry : headers.entries()) {
    if (equalsIgnoreCase(entry.name, "sec-fetch-site")) {
      std::string_view site = trim(entry.value);
      if (!equalsIgnoreCase(site, "none") && !equalsIgnoreCase(site, "same-origin")) {
        return true;
      }
    }
  }
  return false;
}

bool AdminAccessPolicy::tokenAccepted(const http::RequestHeaderMap& headers) const {
  if (token_.empty()) {
    return true;
  }
  if (headers.count("authorization") != 1) {
    return false;
  }
  std::string_view value = trim(*headers.get("authorization"));
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() ||
      !equalsIgnoreCase(value.substr(0, kScheme.size()), kScheme) ||
      (value[kScheme.size()] != ' ' && value[kScheme.size()] != '\t')) {
    return false;
  }
  return constantTimeEquals(trim(value.substr(kScheme.size())), token_);
}

AdminAccessPolicy::Verdict AdminAccessPolicy::checkMethod(Endpoint endpoint,
                                                          std::string_view method) {
  if (endpoint == Endpoint::kReload) {
    // GET stays for the Go program's `curl host:42007/reload`; HEAD must change nothing.
    if (method == "POST" || method == "GET") {
      return {};
    }
    return Verdict{405, "use POST (or GET); HEAD and other methods never reload\n", "POST, GET"};
  }
  if (method == "GET" || method == "HEAD") {
    return {};
  }
  return Verdict{405, "use GET\n", "GET, HEAD"};
}

AdminAccessPolicy::Verdict AdminAccessPolicy::check(Endpoint endpoint,
                                                    const http::RequestHeaderMap& headers,
                                                    bool read_only_address) const {
  if (endpoint == Endpoint::kUnknown) {
    return refuse(404, read_only_address ? "not found; this address serves /metrics, /ready and "
                                           "/healthz\n"
                                         : "not found; try /metrics, /ready, /healthz, /route, "
                                           "/reload or /config_dump\n");
  }
  if (!isProbe(endpoint)) {
    if (read_only_address) {
      return refuse(404, "not found; this address serves /metrics, /ready and /healthz\n");
    }
    if (browserOriginated(headers)) {
      return refuse(403, "forbidden: a browser-originated request (Origin or Sec-Fetch-Site)\n");
    }
    if (!hostAllowed(headers.get("host")) || !forwardedHostsAllowed(headers)) {
      return refuse(403,
                    "forbidden: Host (or X-Forwarded-Host) is not an IP address, localhost or in "
                    "admin.allowed_hosts\n");
    }
    if (!tokenAccepted(headers)) {
      return refuse(401, "unauthorized: send Authorization: Bearer <token of admin.token_file>\n");
    }
  }
  return checkMethod(endpoint, headers.method());
}

}  // namespace proxy::admin
