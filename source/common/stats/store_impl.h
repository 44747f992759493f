#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/stats/stats.h"

namespace proxy::stats {

// The slot of a thread that is not a worker. Such threads (main, admin, tests) share one
// slot per metric and update it with atomic read-modify-write instructions.
inline constexpr uint32_t kSharedSlot = std::numeric_limits<uint32_t>::max();

// Binds the calling thread to worker slot `slot` of every StoreImpl: worker i calls it with i
// when its thread starts, before it touches any metric. Passing kSharedSlot (or any index not
// below a store's worker count) puts the thread back on the shared slot. Two threads must
// never hold the same worker slot at the same time: its writes are plain loads and stores.
void setCurrentThreadSlot(uint32_t slot);
uint32_t currentThreadSlot();

// Per-slot storage of one metric: `words` 64-bit cells for each worker and one more set for
// the shared slot, every set starting on its own cache line so that workers never write to a
// line another worker writes.
class SlotCells {
 public:
  SlotCells(uint32_t worker_count, size_t words);

  // The calling thread's slot: its worker slot, or sharedSlot() for any other thread.
  uint32_t currentSlot() const;
  uint32_t sharedSlot() const { return worker_count_; }
  uint32_t slotCount() const { return worker_count_ + 1; }
  std::atomic<uint64_t>* slot(uint32_t slot) const { return &lines_[slot * stride_].words[0]; }

 private:
  static constexpr size_t kCacheLine = 64;
  struct alignas(kCacheLine) Line {
    std::atomic<uint64_t> words[kCacheLine / sizeof(uint64_t)];
  };

  uint32_t worker_count_;
  size_t stride_;  // lines per slot
  std::unique_ptr<Line[]> lines_;
};

class CounterImpl final : public Counter {
 public:
  explicit CounterImpl(uint32_t worker_count) : cells_(worker_count, 1) {}

  // stats::Counter
  void inc(uint64_t amount) override;
  uint64_t value() const override;

 private:
  SlotCells cells_;
};

class GaugeImpl final : public Gauge {
 public:
  explicit GaugeImpl(uint32_t worker_count) : cells_(worker_count, 1) {}

  // stats::Gauge
  void add(int64_t amount) override;
  int64_t value() const override;

 private:
  // Each slot holds a two's-complement int64 in a uint64, so wrapping is defined and the
  // slots' sum is the gauge's value even when one worker only increments and another only
  // decrements.
  SlotCells cells_;
};

// What one histogram holds at a point in time.
struct HistogramValue {
  std::vector<double> bounds;        // finite upper bounds, increasing
  std::vector<uint64_t> cumulative;  // one per bound, then the +Inf bucket (== count)
  uint64_t count = 0;
  double sum = 0;
};

class HistogramImpl final : public Histogram {
 public:
  // `bounds` must be finite and strictly increasing (StoreImpl checks it).
  HistogramImpl(uint32_t worker_count, std::vector<double> bounds);

  // stats::Histogram
  // NaN is dropped: it would turn the sum into NaN for the rest of the process's life.
  void recordValue(double value) override;

  HistogramValue value() const;

 private:
  // Per slot: one count per bound, the +Inf count, then the sum's bits. The count is the
  // sum of the bucket counts, so a scrape never sees a count that disagrees with +Inf.
  std::vector<double> bounds_;
  SlotCells cells_;
};

enum class MetricType { kCounter, kGauge, kHistogram };

const char* metricTypeName(MetricType type);

// One label set of a family at snapshot time.
struct MetricSnapshot {
  Labels labels;
  double value = 0;          // counters and gauges
  HistogramValue histogram;  // histograms
};

struct FamilySnapshot {
  std::string name;
  std::string help;  // as given, unescaped
  MetricType type = MetricType::kCounter;
  std::vector<MetricSnapshot> metrics;  // ordered by label values
};

// The process's metrics: a stats::Scope whose handles keep one slot per worker plus a shared
// slot, so the data path increments without locks or shared cache lines and a scrape sums
// the slots. Handles live as long as the store; creating and snapshotting take a mutex
// (control plane only). Misuse (a bad name, a name reused with another type, other label
// names or other buckets, empty help) throws std::invalid_argument.
class StoreImpl final : public Scope {
 public:
  explicit StoreImpl(uint32_t worker_count);
  StoreImpl(const StoreImpl&) = delete;
  StoreImpl& operator=(const StoreImpl&) = delete;

  uint32_t workerCount() const { return worker_count_; }

  // stats::Scope
  Counter& counter(const std::string& name, const std::string& help,
                   const Labels& labels = {}) override;
  Gauge& gauge(const std::string& name, const std::string& help,
               const Labels& labels = {}) override;
  // A trailing +Inf bound is implied and may be given or left out.
  Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels,
                       const std::vector<double>& buckets) override;

  // A gauge whose value `compute` returns at each snapshot, for values derived from others
  // (a mean since start, a config generation kept elsewhere). `compute` runs on the
  // snapshotting thread with the store's mutex held, so it must not call into the store.
  // Registering the same name and labels again replaces the function.
  void computedGauge(const std::string& name, const std::string& help, const Labels& labels,
                     std::function<double()> compute) override;

  // Every family, in name order, each with its label sets in label-value order.
  std::vector<FamilySnapshot> snapshot() const;

 private:
  struct Metric {
    std::unique_ptr<CounterImpl> counter;
    std::unique_ptr<GaugeImpl> gauge;
    std::unique_ptr<HistogramImpl> histogram;
    std::function<double()> compute;
  };
  struct Family {
    MetricType type;
    std::string help;
    std::vector<std::string> label_names;
    std::vector<double> bounds;  // histograms
    bool computed = false;       // computed gauges and plain gauges do not share a family
    std::map<std::vector<std::string>, Metric> metrics;  // by label values
  };

  // Finds or creates the family and the label set's entry; checks everything a caller can
  // get wrong. The mutex must be held.
  Metric& findOrCreate(const std::string& name, const std::string& help, const Labels& labels,
                       MetricType type, const std::vector<double>& bounds, bool computed);

  const uint32_t worker_count_;
  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

}  // namespace proxy::stats
