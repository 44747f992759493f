#pragma once

#include <string>
#include <string_view>

#include "common/router/route_table.h"

namespace proxy::router {

// What a router filter's rules make of one request (docs/behaviour.md §2): the routing filters act
// on it, and it is what an admin "which route would take this" answer should report, so
// both see the same result.
struct RouteDecision {
  enum class Outcome {
    kRouted,   // `entry` matched
    kNoRoute,  // no rule matched, or the target is not a path ("*", authority form)
    kBadPath,  // the path climbs above "/": the request gets 400
  };
  Outcome outcome = Outcome::kNoRoute;
  const RouteEntry* entry = nullptr;
  // The host that was matched: the absolute form's authority or the Host header, normalized.
  std::string host;
  // With kRouted: the request target to forward, in origin form: the path with dot-segments
  // removed, the rule's prefix stripped if it says so, and the query as it came.
  std::string path;
  // With kRouted and an absolute-form target: its authority, which replaces the Host header
  // when the target is rewritten to origin form (RFC 9112 §3.2.2). Empty otherwise.
  std::string authority;
};

// Decides how `table` routes a request with this Host header value ("" when there is none)
// and request target (as on the request line).
RouteDecision decideRoute(const RouteTable& table, std::string_view host_header,
                          std::string_view target);

}  // namespace proxy::router
