#include "common/stats/filter_counters.h"

namespace proxy::stats {
namespace {

constexpr const char* kInvocations = "proxy_filter_invocations_total";
constexpr const char* kInvocationsHelp =
    "Connections (network filters) or requests (HTTP filters) that reached each filter.";
constexpr const char* kLocalReplies = "proxy_filter_local_replies_total";
constexpr const char* kLocalRepliesHelp = "Requests an HTTP filter answered itself.";

}  // namespace

FilterCounters FilterCounters::forNetworkFilter(Scope& scope, const std::string& listener,
                                                const std::string& filter) {
  FilterCounters counters;
  counters.invocations =
      &scope.counter(kInvocations, kInvocationsHelp,
                     {{"listener", listener}, {"chain", "network"}, {"filter", filter}});
  return counters;
}

FilterCounters FilterCounters::forHttpFilter(Scope& scope, const std::string& listener,
                                             const std::string& filter) {
  const Labels labels{{"listener", listener}, {"chain", "http"}, {"filter", filter}};
  FilterCounters counters;
  counters.invocations = &scope.counter(kInvocations, kInvocationsHelp, labels);
  counters.local_replies = &scope.counter(kLocalReplies, kLocalRepliesHelp, labels);
  return counters;
}

}  // namespace proxy::stats
