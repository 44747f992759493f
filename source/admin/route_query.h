#pragma once

#include <string>
#include <string_view>

#include "server/snapshot.h"

namespace proxy::admin {

// The answer to GET /route?listener=L&host=H&path=P (docs/behaviour.md §6): which router filter
// and rule of listener L's HTTP chain would take a request for host H and target P, the
// path the upstream would see and the cluster's endpoints, as JSON. The snapshot's router
// filters answer through their RouteIntrospector, which runs the same decideRoute() over
// the same rule tables as traffic does, router filters asked in chain order.
struct RouteQueryAnswer {
  int status = 200;  // 200 matched; 404 no route or bad path (body says which); 400 bad query
  std::string body;  // JSON, one object, newline-terminated
};

// `raw_query` is the URI's query, still percent-encoded ("listener=web&host=a.com&path=%2F").
// Parameters are percent-decoded; '+' stays '+'. `listener` may be left out when the
// snapshot has exactly one HTTP listener; `host` may be empty (a request without Host).
// Missing, repeated or unknown parameters, bad percent-encoding and unknown or non-HTTP
// listeners get 400 with {"error": "..."}.
RouteQueryAnswer answerRouteQuery(const server::Snapshot& snapshot, std::string_view raw_query);

}  // namespace proxy::admin
