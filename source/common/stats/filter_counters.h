#pragma once

#include <string>

#include "api/stats/stats.h"

namespace proxy::stats {

// What a filter manager counts for one filter of a chain (docs/behaviour.md §5), so every filter,
// built in or plugin, is counted the same way without doing anything itself. Resolved when
// the chain's config is built; the data path only increments. Null handles count nothing
// (chains built by tests).
struct FilterCounters {
  // Network filters: connections that reached the filter (onNewConnection). HTTP filters:
  // requests whose headers reached the filter (decodeHeaders).
  Counter* invocations = nullptr;
  // HTTP filters: requests the filter answered itself (sendLocalReply).
  Counter* local_replies = nullptr;

  // proxy_filter_invocations_total{listener, chain="network", filter}.
  static FilterCounters forNetworkFilter(Scope& scope, const std::string& listener,
                                         const std::string& filter);
  // proxy_filter_invocations_total and proxy_filter_local_replies_total
  // {listener, chain="http", filter}.
  static FilterCounters forHttpFilter(Scope& scope, const std::string& listener,
                                      const std::string& filter);
};

}  // namespace proxy::stats
