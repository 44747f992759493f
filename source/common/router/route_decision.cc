#include "common/router/route_decision.h"

#include "common/router/request_host.h"
#include "common/router/request_path.h"
#include "common/router/request_target.h"

namespace proxy::router {

RouteDecision decideRoute(const RouteTable& table, std::string_view host_header,
                          std::string_view target) {
  RouteDecision decision;
  RequestTarget parsed = parseRequestTarget(target);
  if (parsed.form == RequestTarget::Form::kOther) {
    return decision;
  }
  // RFC 9112 §3.2.2: with an absolute-form target the Host header is ignored.
  bool absolute = parsed.form == RequestTarget::Form::kAbsolute;
  decision.host = normalizeHost(absolute ? parsed.authority : host_header);

  std::string normalized;
  std::string_view path = parsed.path;
  if (hasDotSegments(path)) {
    if (!removeDotSegments(path, normalized)) {
      decision.outcome = RouteDecision::Outcome::kBadPath;
      return decision;
    }
    path = normalized;
  }
  decision.entry = table.match(decision.host, path);
  if (decision.entry == nullptr) {
    return decision;
  }
  decision.outcome = RouteDecision::Outcome::kRouted;
  if (decision.entry->strip_length > 0) {
    decision.path = stripPrefix(path, decision.entry->strip_length);
  } else if (!normalized.empty()) {
    decision.path = std::move(normalized);
  } else {
    decision.path.assign(path);
  }
  decision.path += parsed.query;
  if (absolute) {
    decision.authority.assign(parsed.authority);
  }
  return decision;
}

}  // namespace proxy::router
