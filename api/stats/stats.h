#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace proxy::stats {

// Metric handles are created on the main thread at config time and then used from any
// worker without locks: each keeps one slot per worker and the slots are summed when
// /metrics is scraped. A handle lives as long as the process (it survives reloads), so a
// filter config may keep a reference to it.

using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count.
class Counter {
 public:
  virtual ~Counter() = default;
  virtual void inc(uint64_t amount = 1) = 0;
  // The sum over every worker; approximate while workers are writing.
  virtual uint64_t value() const = 0;
};

// A value that goes up and down (active connections). Each worker's increments and
// decrements of the same gauge should balance on that worker.
class Gauge {
 public:
  virtual ~Gauge() = default;
  virtual void add(int64_t amount) = 0;
  void inc() { add(1); }
  void dec() { add(-1); }
  virtual int64_t value() const = 0;
};

// A distribution with fixed bucket upper bounds.
class Histogram {
 public:
  virtual ~Histogram() = default;
  virtual void recordValue(double value) = 0;
};

// Creates or finds metrics. Asking twice for the same name and labels returns the same
// handle. Names follow Prometheus rules; `help` becomes the # HELP line. A name starting
// with "__" (reserved by Prometheus for internal use) is counted but not exposed: a value
// that only feeds a computedGauge. Creating takes a
// lock: do it at config time where the labels are known, or once per worker and label set
// (cache the handle), never per request.
class Scope {
 public:
  virtual ~Scope() = default;
  virtual Counter& counter(const std::string& name, const std::string& help,
                           const Labels& labels = {}) = 0;
  virtual Gauge& gauge(const std::string& name, const std::string& help,
                       const Labels& labels = {}) = 0;
  virtual Histogram& histogram(const std::string& name, const std::string& help,
                               const Labels& labels, const std::vector<double>& buckets) = 0;
  // A gauge whose value `compute` returns at each scrape, for values derived from other
  // handles (a mean). `compute` runs on the scraping thread and must only read handles.
  virtual void computedGauge(const std::string& name, const std::string& help, const Labels& labels,
                             std::function<double()> compute) = 0;
};

}  // namespace proxy::stats
