#pragma once

#include <memory>
#include <string>

#include "api/upstream/cluster.h"

namespace proxy::http {

// Where a router filter decided a request goes. Immutable; owned by the router filter's
// config and shared with streams, so a stream keeps its route across a reload.
class Route {
 public:
  virtual ~Route() = default;
  // The rule's name: a metric label and the name in logs.
  virtual const std::string& name() const = 0;
  // The router filter that holds the rule ("path_prefix_router").
  virtual const std::string& routerName() const = 0;
  virtual const upstream::ClusterConstSharedPtr& cluster() const = 0;
  // Send the client's Host upstream instead of the endpoint's authority.
  virtual bool preserveHost() const = 0;
};

using RouteConstSharedPtr = std::shared_ptr<const Route>;

}  // namespace proxy::http
