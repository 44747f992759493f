#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http/header_map.h"

namespace proxy::admin {

// Who may use which admin endpoint. The probes and /metrics answer anyone:
// orchestrators and Prometheus call them by pod IP or service name. The endpoints that change
// or reveal config refuse what a browser sends (a page on another site must not reach them,
// not even through DNS rebinding, where the page's own name points at this address) and,
// with a token, anyone without it. Immutable; a reload replaces it.
class AdminAccessPolicy {
 public:
  enum class Endpoint { kMetrics, kReady, kHealthz, kRoute, kReload, kConfigDump, kUnknown };

  // What to answer instead of serving the request; status 0 means serve it.
  struct Verdict {
    int status = 0;
    std::string body;
    // 405: the methods the endpoint takes, for Allow.
    std::string allow;
    bool allowed() const { return status == 0; }
  };

  // `allowed_hosts`: normalized host names (config loader); `token`: empty for none.
  AdminAccessPolicy(std::vector<std::string> allowed_hosts, std::string token);

  // The endpoint a request path (without its query) names.
  static Endpoint endpointOf(std::string_view path);
  // /metrics, /ready and /healthz: any Host, no token, served on read_only_address too.
  static bool isProbe(Endpoint endpoint);

  // The whole decision for one request, in this order: unknown path (or a config endpoint on
  // the read-only address) 404; a browser-originated request 403; a Host that is not an IP
  // literal, localhost or allowed (nor is an X-Forwarded-Host) 403; a missing or wrong token
  // 401; a method the endpoint
  // does not take 405 (HEAD never reloads).
  Verdict check(Endpoint endpoint, const http::RequestHeaderMap& headers,
                bool read_only_address) const;

  // The parts of check(), each alone.
  // True for a Host (with or without port) that is an IP literal, "localhost" or allowed.
  bool hostAllowed(std::optional<std::string_view> host) const;
  // True when every X-Forwarded-Host value passes hostAllowed(), or there is none. A proxy in
  // front (this one's router included) rewrites Host to the admin address and says the
  // client's Host here, where a rebinding page's name shows.
  bool forwardedHostsAllowed(const http::RequestHeaderMap& headers) const;
  // An Origin header, or Sec-Fetch-Site other than none/same-origin: a page in a browser.
  static bool browserOriginated(const http::RequestHeaderMap& headers);
  // True without a token; else one "Authorization: Bearer <token>", compared in constant time.
  bool tokenAccepted(const http::RequestHeaderMap& headers) const;
  // 405 unless the endpoint takes `method`.
  static Verdict checkMethod(Endpoint endpoint, std::string_view method);

  bool requiresToken() const { return !token_.empty(); }

 private:
  const std::vector<std::string> allowed_hosts_;
  const std::string token_;
};

}  // namespace proxy::admin
