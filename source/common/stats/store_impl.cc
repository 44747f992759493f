#include "common/stats/store_impl.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace proxy::stats {
namespace {

// Constant-initialized, so reading it is a plain TLS load with no init guard.
thread_local uint32_t current_thread_slot = kSharedSlot;

constexpr std::memory_order kRelaxed = std::memory_order_relaxed;

// A worker is the only writer of its cell, so a plain load and store suffice and no lock
// prefix is paid; the shared slot has many writers and needs the atomic add.
void addToCell(std::atomic<uint64_t>& cell, uint64_t amount, bool shared) {
  if (shared) {
    cell.fetch_add(amount, kRelaxed);
  } else {
    cell.store(cell.load(kRelaxed) + amount, kRelaxed);
  }
}

void addToSumCell(std::atomic<uint64_t>& cell, double amount, bool shared) {
  if (shared) {
    uint64_t old_bits = cell.load(kRelaxed);
    while (!cell.compare_exchange_weak(
        old_bits, std::bit_cast<uint64_t>(std::bit_cast<double>(old_bits) + amount), kRelaxed)) {
    }
  } else {
    cell.store(std::bit_cast<uint64_t>(std::bit_cast<double>(cell.load(kRelaxed)) + amount),
               kRelaxed);
  }
}

bool isNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }

void validateMetricName(const std::string& name) {
  bool ok = !name.empty() && (isNameStart(name[0]) || name[0] == ':');
  for (char c : name) {
    ok = ok && (isNameChar(c) || c == ':');
  }
  if (!ok) {
    throw std::invalid_argument("invalid metric name '" + name +
                                "': expected [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
}

void validateLabelNames(const std::string& metric, const std::vector<std::string>& names,
                        MetricType type) {
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    bool ok = !name.empty() && isNameStart(name[0]);
    for (char c : name) {
      ok = ok && isNameChar(c);
    }
    if (!ok) {
      throw std::invalid_argument("metric '" + metric + "': invalid label name '" + name +
                                  "': expected [a-zA-Z_][a-zA-Z0-9_]*");
    }
    if (name.starts_with("__")) {
      throw std::invalid_argument("metric '" + metric + "': label name '" + name +
                                  "' is reserved (starts with __)");
    }
    if (type == MetricType::kHistogram && name == "le") {
      throw std::invalid_argument("histogram '" + metric + "': label name 'le' is reserved");
    }
    if (std::find(names.begin(), names.begin() + i, name) != names.begin() + i) {
      throw std::invalid_argument("metric '" + metric + "': label '" + name + "' given twice");
    }
  }
}

std::vector<double> normalizeBounds(const std::string& metric, std::vector<double> bounds) {
  if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity()) {
    bounds.pop_back();
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) {
      throw std::invalid_argument("histogram '" + metric + "': bucket bounds must be finite");
    }
    if (i > 0 && bounds[i] <= bounds[i - 1]) {
      throw std::invalid_argument("histogram '" + metric +
                                  "': bucket bounds must be strictly increasing");
    }
  }
  return bounds;
}

const char* const kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

}  // namespace

void setCurrentThreadSlot(uint32_t slot) { current_thread_slot = slot; }

uint32_t currentThreadSlot() { return current_thread_slot; }

SlotCells::SlotCells(uint32_t worker_count, size_t words)
    : worker_count_(worker_count),
      stride_((words * sizeof(uint64_t) + kCacheLine - 1) / kCacheLine),
      // Value-initialized: every cell starts at zero (and 0 bits are +0.0 for sums).
      lines_(new Line[stride_ * (static_cast<size_t>(worker_count) + 1)]()) {}

uint32_t SlotCells::currentSlot() const {
  uint32_t slot = current_thread_slot;
  return slot < worker_count_ ? slot : worker_count_;
}

void CounterImpl::inc(uint64_t amount) {
  uint32_t slot = cells_.currentSlot();
  addToCell(*cells_.slot(slot), amount, slot == cells_.sharedSlot());
}

uint64_t CounterImpl::value() const {
  uint64_t total = 0;
  for (uint32_t slot = 0; slot < cells_.slotCount(); ++slot) {
    total += cells_.slot(slot)->load(kRelaxed);
  }
  return total;
}

void GaugeImpl::add(int64_t amount) {
  uint32_t slot = cells_.currentSlot();
  addToCell(*cells_.slot(slot), static_cast<uint64_t>(amount), slot == cells_.sharedSlot());
}

int64_t GaugeImpl::value() const {
  uint64_t total = 0;
  for (uint32_t slot = 0; slot < cells_.slotCount(); ++slot) {
    total += cells_.slot(slot)->load(kRelaxed);
  }
  return static_cast<int64_t>(total);
}

HistogramImpl::HistogramImpl(uint32_t worker_count, std::vector<double> bounds)
    : bounds_(std::move(bounds)), cells_(worker_count, bounds_.size() + 2) {}

void HistogramImpl::recordValue(double value) {
  if (std::isnan(value)) {
    return;
  }
  // Prometheus buckets are "le": the first bound not below the value.
  size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  uint32_t slot = cells_.currentSlot();
  bool shared = slot == cells_.sharedSlot();
  std::atomic<uint64_t>* cells = cells_.slot(slot);
  addToCell(cells[bucket], 1, shared);
  addToSumCell(cells[bounds_.size() + 1], value, shared);
}

HistogramValue HistogramImpl::value() const {
  HistogramValue out;
  out.bounds = bounds_;
  out.cumulative.assign(bounds_.size() + 1, 0);
  for (uint32_t slot = 0; slot < cells_.slotCount(); ++slot) {
    const std::atomic<uint64_t>* cells = cells_.slot(slot);
    for (size_t bucket = 0; bucket <= bounds_.size(); ++bucket) {
      out.cumulative[bucket] += cells[bucket].load(kRelaxed);
    }
    out.sum += std::bit_cast<double>(cells[bounds_.size() + 1].load(kRelaxed));
  }
  for (size_t bucket = 1; bucket < out.cumulative.size(); ++bucket) {
    out.cumulative[bucket] += out.cumulative[bucket - 1];
  }
  out.count = out.cumulative.back();
  return out;
}

const char* metricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "unknown";
}

StoreImpl::StoreImpl(uint32_t worker_count) : worker_count_(worker_count) {}

Counter& StoreImpl::counter(const std::string& name, const std::string& help,
                            const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  Metric& metric = findOrCreate(name, help, labels, MetricType::kCounter, {}, false);
  if (!metric.counter) {
    metric.counter = std::make_unique<CounterImpl>(worker_count_);
  }
  return *metric.counter;
}

Gauge& StoreImpl::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  Metric& metric = findOrCreate(name, help, labels, MetricType::kGauge, {}, false);
  if (!metric.gauge) {
    metric.gauge = std::make_unique<GaugeImpl>(worker_count_);
  }
  return *metric.gauge;
}

Histogram& StoreImpl::histogram(const std::string& name, const std::string& help,
                                const Labels& labels, const std::vector<double>& buckets) {
  std::vector<double> bounds = normalizeBounds(name, buckets);
  std::lock_guard<std::mutex> lock(mutex_);
  Metric& metric = findOrCreate(name, help, labels, MetricType::kHistogram, bounds, false);
  if (!metric.histogram) {
    metric.histogram = std::make_unique<HistogramImpl>(worker_count_, std::move(bounds));
  }
  return *metric.histogram;
}

void StoreImpl::computedGauge(const std::string& name, const std::string& help,
                              const Labels& labels, std::function<double()> compute) {
  if (!compute) {
    throw std::invalid_argument("computed gauge '" + name + "': no function given");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  findOrCreate(name, help, labels, MetricType::kGauge, {}, true).compute = std::move(compute);
}

StoreImpl::Metric& StoreImpl::findOrCreate(const std::string& name, const std::string& help,
                                           const Labels& labels, MetricType type,
                                           const std::vector<double>& bounds, bool computed) {
  std::vector<std::string> label_names;
  std::vector<std::string> label_values;
  label_names.reserve(labels.size());
  label_values.reserve(labels.size());
  for (const auto& [label_name, label_value] : labels) {
    label_names.push_back(label_name);
    label_values.push_back(label_value);
  }

  auto it = families_.find(name);
  if (it == families_.end()) {
    validateMetricName(name);
    validateLabelNames(name, label_names, type);
    if (help.empty()) {
      throw std::invalid_argument("metric '" + name + "': help text is required");
    }
    // A histogram's series are NAME_bucket, NAME_sum and NAME_count: no other family may
    // take those names, or the exposition would hold two families' samples under one name.
    for (const char* suffix : kHistogramSuffixes) {
      if (type == MetricType::kHistogram && families_.count(name + suffix) != 0) {
        throw std::invalid_argument("histogram '" + name + "' clashes with metric '" + name +
                                    suffix + "'");
      }
      if (name.ends_with(suffix)) {
        auto stem = families_.find(name.substr(0, name.size() - std::string(suffix).size()));
        if (stem != families_.end() && stem->second.type == MetricType::kHistogram) {
          throw std::invalid_argument("metric '" + name + "' clashes with histogram '" +
                                      stem->first + "'");
        }
      }
    }
    it = families_.emplace(name, Family{type, help, label_names, bounds, computed, {}}).first;
  } else {
    const Family& family = it->second;
    if (family.type != type || family.computed != computed) {
      throw std::invalid_argument("metric '" + name + "' already exists as a " +
                                  (family.computed ? "computed " : "") +
                                  metricTypeName(family.type));
    }
    if (family.label_names != label_names) {
      throw std::invalid_argument("metric '" + name +
                                  "' already exists with other label names (or order)");
    }
    if (family.bounds != bounds) {
      throw std::invalid_argument("histogram '" + name + "' already exists with other buckets");
    }
  }
  return it->second.metrics[std::move(label_values)];
}

std::vector<FamilySnapshot> StoreImpl::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<FamilySnapshot> out;
  out.reserve(families_.size());
  for (const auto& [name, family] : families_) {
    FamilySnapshot& snapshot = out.emplace_back();
    snapshot.name = name;
    snapshot.help = family.help;
    snapshot.type = family.type;
    snapshot.metrics.reserve(family.metrics.size());
    for (const auto& [label_values, metric] : family.metrics) {
      MetricSnapshot& sample = snapshot.metrics.emplace_back();
      sample.labels.reserve(label_values.size());
      for (size_t i = 0; i < label_values.size(); ++i) {
        sample.labels.emplace_back(family.label_names[i], label_values[i]);
      }
      if (metric.counter) {
        sample.value = static_cast<double>(metric.counter->value());
      } else if (metric.gauge) {
        sample.value = static_cast<double>(metric.gauge->value());
      } else if (metric.histogram) {
        sample.histogram = metric.histogram->value();
      } else if (metric.compute) {
        sample.value = metric.compute();
      }
    }
  }
  return out;
}

}  // namespace proxy::stats
