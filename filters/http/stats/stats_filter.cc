#include "filters/http/stats/stats_filter.h"

#include <atomic>
#include <map>
#include <string_view>
#include <tuple>

#include "api/event/dispatcher.h"

namespace proxy::filters::http_stats {
namespace {

const char* statusClass(int code) {
  switch (code / 100) {
    case 1:
      return "1xx";
    case 2:
      return "2xx";
    case 3:
      return "3xx";
    case 4:
      return "4xx";
    case 5:
      return "5xx";
    default:
      return "none";  // no response: the client left first
  }
}

uint64_t nextConfigId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// Where a worker caches a label set's handles.
// A config is known by its id rather than its address: a config built by a later reload may
// reuse a freed one's address, and must not inherit its cached handles (other labels).
struct HandleKey {
  uint64_t config;
  std::string route;
  std::string cluster;
  const char* status_class;  // one of statusClass()'s literals
};
using HandleKeyView = std::tuple<uint64_t, std::string_view, std::string_view, const char*>;
struct HandleKeyLess {
  using is_transparent = void;
  static HandleKeyView view(const HandleKey& k) {
    return {k.config, k.route, k.cluster, k.status_class};
  }
  static const HandleKeyView& view(const HandleKeyView& v) { return v; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return view(a) < view(b);
  }
};

}  // namespace

StatsConfig::StatsConfig(stats::Scope& scope, std::string listener, std::vector<double> buckets)
    : id_(nextConfigId()),
      scope_(scope),
      listener_(std::move(listener)),
      buckets_(std::move(buckets)),
      legacy_total_(scope.counter("http_request_total_count",
                                  "HTTP requests answered since start (the Go proxy's name).")),
      duration_microseconds_(
          scope.counter("__http_request_duration_microseconds",
                        "Total time spent on answered HTTP requests, in microseconds; only "
                        "feeds the mean (internal: promtool wants seconds, counters count "
                        "integers).")),
      answered_(scope.counter("proxy_http_requests_answered_total",
                              "HTTP requests answered since start, every listener.")) {
  for (size_t i = 1; i < failures_.size(); ++i) {
    failures_[i] = &scope.counter(
        "proxy_http_request_failures_total",
        "HTTP requests that failed, by cause (upstream connect failures, timeouts, no route...).",
        {{"listener", listener_},
         {"cause", http::requestFailureName(static_cast<http::RequestFailure>(i))}});
  }
  stats::Counter& total = duration_microseconds_;
  stats::Counter& answered = answered_;
  // The Go program's integer mean in milliseconds of every request since start.
  scope.computedGauge("http_request_time_avg_milliseconds",
                      "Mean HTTP request duration since start, in whole milliseconds.", {},
                      [&total, &answered] {
                        uint64_t count = answered.value();
                        return count == 0 ? 0.0 : static_cast<double>(total.value() / 1000 / count);
                      });
}

StatsConfig::Handles& StatsConfig::handlesFor(const std::string& route, const std::string& cluster,
                                              const char* status_class) const {
  // Per worker thread: no lock after the first request of each label set, and no allocation
  // either: the lookup compares views; only a new label set stores strings.
  thread_local std::map<HandleKey, StatsConfig::Handles, HandleKeyLess> cache;
  // Consecutive requests of a worker mostly share their labels: the last entry found is
  // checked first (map nodes never move, and entries are never removed).
  thread_local std::pair<const HandleKey, StatsConfig::Handles>* last = nullptr;
  if (last != nullptr && last->first.config == id_ && last->first.status_class == status_class &&
      last->first.route == route && last->first.cluster == cluster) {
    return last->second;
  }
  HandleKeyView lookup{id_, route, cluster, status_class};
  auto it = cache.find(lookup);
  if (it != cache.end()) {
    last = &*it;
    return it->second;
  }
  Handles handles;
  handles.requests = &scope_.counter("proxy_http_requests_total",
                                     "HTTP requests by listener, route, cluster and status class.",
                                     {{"listener", listener_},
                                      {"route", route},
                                      {"cluster", cluster},
                                      {"status_class", status_class}});
  handles.duration = &scope_.histogram("proxy_http_request_duration_seconds",
                                       "HTTP request duration by listener and route.",
                                       {{"listener", listener_}, {"route", route}}, buckets_);
  last = &*cache.emplace(HandleKey{id_, route, cluster, status_class}, handles).first;
  return last->second;
}

void StatsConfig::record(const http::StreamInfo& info, double seconds) const {
  if (info.response_code != 0) {
    legacy_total_.inc();
    answered_.inc();
    duration_microseconds_.inc(static_cast<uint64_t>(seconds * 1e6));
  }
  Handles& handles =
      handlesFor(info.route_name, info.cluster_name, statusClass(info.response_code));
  handles.requests->inc();
  handles.duration->recordValue(seconds);
  if (info.failure != http::RequestFailure::kNone) {
    failures_[static_cast<size_t>(info.failure)]->inc();
  }
}

void StatsFilter::onDestroy() {
  if (callbacks_ == nullptr) {
    return;
  }
  const http::StreamInfo& info = callbacks_->streamInfo();
  auto elapsed = std::chrono::steady_clock::now() - info.start_time;
  config_->record(info, std::chrono::duration<double>(elapsed).count());
  callbacks_ = nullptr;
}

}  // namespace proxy::filters::http_stats
