#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <memory>
#include <string>
#include <vector>

#include "common/stats/store_impl.h"

namespace proxy::admin {

// Turns the store's per-worker slots into Prometheus families at scrape time. prometheus-cpp
// only formats here: its own metric types lock or CAS on every update (docs/architecture.md).
class StatsCollector : public prometheus::Collectable {
 public:
  // `store` must outlive the collector.
  explicit StatsCollector(const stats::StoreImpl& store) : store_(store) {}

  // prometheus::Collectable
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const stats::StoreImpl& store_;
};

// The standard process_* metrics of the calling process, read from /proc/self at each
// scrape: process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds and
// process_start_time_seconds. A value that cannot be read is left out, not reported as 0.
class ProcessCollector : public prometheus::Collectable {
 public:
  ProcessCollector();

  // prometheus::Collectable
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  // Both are fixed for the process's life: read once.
  double boot_time_seconds_ = -1;  // -1 when /proc/stat has no btime
  long clock_ticks_per_second_;
};

// The Prometheus text exposition (format 0.0.4) of every family of `collectables`, in the
// order given. Help texts are escaped here, since prometheus-cpp 1.0's TextSerializer writes
// them verbatim; counter names are written as given (no _total is added).
std::string renderPrometheusText(
    const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables);

// The Content-Type of that text.
inline constexpr const char* kPrometheusTextContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace proxy::admin
