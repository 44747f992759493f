#include "common/stats/store_impl.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

namespace proxy::stats {
namespace {

// Puts the calling thread on `slot` for the scope's life, so a test run on gtest's thread
// does not leave it bound for the next test.
class ScopedThreadSlot {
 public:
  explicit ScopedThreadSlot(uint32_t slot) : previous_(currentThreadSlot()) {
    setCurrentThreadSlot(slot);
  }
  ~ScopedThreadSlot() { setCurrentThreadSlot(previous_); }

 private:
  uint32_t previous_;
};

const FamilySnapshot* findFamily(const std::vector<FamilySnapshot>& snapshot,
                                 const std::string& name) {
  for (const FamilySnapshot& family : snapshot) {
    if (family.name == name) {
      return &family;
    }
  }
  return nullptr;
}

TEST(StoreImplTest, WorkerSlotsAreSummedAcrossThreads) {
  constexpr uint32_t kWorkers = 4;
  constexpr int kIterations = 200000;
  StoreImpl store(kWorkers);
  Counter& counter = store.counter("requests_total", "Requests.");
  Gauge& gauge = store.gauge("active", "Active.");
  Histogram& histogram = store.histogram("latency", "Latency.", {}, {1, 10});

  std::vector<std::thread> workers;
  for (uint32_t i = 0; i < kWorkers; ++i) {
    workers.emplace_back([&, i] {
      setCurrentThreadSlot(i);
      for (int n = 0; n < kIterations; ++n) {
        counter.inc(i + 1);
        gauge.inc();
        histogram.recordValue(n % 2 == 0 ? 0.5 : 5);
      }
      for (int n = 0; n < kIterations / 2; ++n) {
        gauge.dec();
      }
    });
  }
  // A scrape while the workers write sees some partial sum and never tears.
  EXPECT_LE(counter.value(), uint64_t{kIterations} * (1 + 2 + 3 + 4));
  for (std::thread& worker : workers) {
    worker.join();
  }

  EXPECT_EQ(counter.value(), uint64_t{kIterations} * (1 + 2 + 3 + 4));
  EXPECT_EQ(gauge.value(), int64_t{kWorkers} * kIterations / 2);
  const std::vector<FamilySnapshot> snapshot = store.snapshot();
  const FamilySnapshot* latency = findFamily(snapshot, "latency");
  ASSERT_NE(latency, nullptr);
  const HistogramValue& value = latency->metrics.at(0).histogram;
  EXPECT_EQ(value.count, uint64_t{kWorkers} * kIterations);
  EXPECT_EQ(value.cumulative,
            (std::vector<uint64_t>{kWorkers * kIterations / 2, kWorkers * kIterations,
                                   kWorkers * kIterations}));
  EXPECT_DOUBLE_EQ(value.sum, kWorkers * (kIterations / 2) * (0.5 + 5));
}

TEST(StoreImplTest, SharedSlotCountsExactlyFromManyThreads) {
  constexpr int kThreads = 8;
  constexpr int kIterations = 100000;
  StoreImpl store(2);
  Counter& counter = store.counter("shared_total", "Shared.");
  Gauge& gauge = store.gauge("shared_gauge", "Shared.");
  Histogram& histogram = store.histogram("shared_hist", "Shared.", {}, {2});

  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    // These threads never choose a slot, as the main and admin threads do not.
    threads.emplace_back([&] {
      for (int n = 0; n < kIterations; ++n) {
        counter.inc();
        gauge.add(n % 2 == 0 ? 3 : -1);
        histogram.recordValue(1);
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }

  EXPECT_EQ(counter.value(), uint64_t{kThreads} * kIterations);
  EXPECT_EQ(gauge.value(), int64_t{kThreads} * (kIterations / 2) * 2);
  const std::vector<FamilySnapshot> snapshot = store.snapshot();
  const HistogramValue& value = findFamily(snapshot, "shared_hist")->metrics.at(0).histogram;
  EXPECT_EQ(value.count, uint64_t{kThreads} * kIterations);
  // Whole numbers below 2^53 add exactly, so a lost CAS update would show.
  EXPECT_EQ(value.sum, double{kThreads} * kIterations);
}

TEST(StoreImplTest, WorkersAndSharedThreadsTogether) {
  StoreImpl store(2);
  Counter& counter = store.counter("mixed_total", "Mixed.");
  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      setCurrentThreadSlot(i);
      for (int n = 0; n < 50000; ++n) {
        counter.inc();
      }
    });
  }
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      for (int n = 0; n < 50000; ++n) {
        counter.inc();
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(counter.value(), 5u * 50000);
}

TEST(StoreImplTest, SlotBeyondWorkerCountFallsBackToShared) {
  StoreImpl store(1);
  Counter& counter = store.counter("beyond_total", "Beyond.");
  {
    ScopedThreadSlot slot(7);
    counter.inc(5);
  }
  counter.inc(2);
  EXPECT_EQ(counter.value(), 7u);
}

TEST(StoreImplTest, ZeroWorkersUsesOnlyTheSharedSlot) {
  StoreImpl store(0);
  ScopedThreadSlot slot(0);
  Counter& counter = store.counter("zero_total", "Zero.");
  counter.inc(3);
  EXPECT_EQ(counter.value(), 3u);
}

TEST(StoreImplTest, SlotsSitOnSeparateCacheLines) {
  SlotCells cells(3, 10);  // 80 bytes per slot: two lines each
  ASSERT_EQ(cells.slotCount(), 4u);
  for (uint32_t slot = 0; slot < cells.slotCount(); ++slot) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(cells.slot(slot)) % 64, 0u);
    for (size_t word = 0; word < 10; ++word) {
      EXPECT_EQ(cells.slot(slot)[word].load(), 0u);
    }
  }
  EXPECT_EQ(reinterpret_cast<uintptr_t>(cells.slot(1)) - reinterpret_cast<uintptr_t>(cells.slot(0)),
            128u);
}

TEST(StoreImplTest, SameNameAndLabelsReturnTheSameHandle) {
  StoreImpl store(2);
  Counter& a = store.counter("requests_total", "Requests.", {{"listener", "web"}});
  Counter& b = store.counter("requests_total", "Requests.", {{"listener", "web"}});
  Counter& other = store.counter("requests_total", "Requests.", {{"listener", "tcp"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  EXPECT_EQ(&store.gauge("g", "G."), &store.gauge("g", "G."));
  EXPECT_EQ(&store.histogram("h", "H.", {{"k", "v"}}, {1, 2}),
            &store.histogram("h", "H.", {{"k", "v"}}, {1, 2}));
  a.inc();
  b.inc();
  EXPECT_EQ(a.value(), 2u);
  EXPECT_EQ(other.value(), 0u);
}

TEST(StoreImplTest, ReusingANameDifferentlyThrows) {
  StoreImpl store(1);
  store.counter("c_total", "C.", {{"a", "1"}});
  EXPECT_THROW(store.gauge("c_total", "C.", {{"a", "1"}}), std::invalid_argument);
  EXPECT_THROW(store.histogram("c_total", "C.", {{"a", "1"}}, {1}), std::invalid_argument);
  EXPECT_THROW(store.counter("c_total", "C.", {{"b", "1"}}), std::invalid_argument);
  EXPECT_THROW(store.counter("c_total", "C."), std::invalid_argument);
  EXPECT_THROW(store.counter("c_total", "C.", {{"a", "1"}, {"b", "2"}}), std::invalid_argument);
  EXPECT_THROW(store.computedGauge("c_total", "C.", {{"a", "1"}}, [] { return 1.0; }),
               std::invalid_argument);

  store.counter("two_total", "Two.", {{"a", "1"}, {"b", "2"}});
  EXPECT_THROW(store.counter("two_total", "Two.", {{"b", "2"}, {"a", "1"}}), std::invalid_argument);

  store.histogram("h", "H.", {}, {1, 2});
  EXPECT_THROW(store.histogram("h", "H.", {}, {1, 3}), std::invalid_argument);
  EXPECT_THROW(store.histogram("h", "H.", {}, {1}), std::invalid_argument);
  // A trailing +Inf is implied, so giving it is the same buckets.
  EXPECT_NO_THROW(store.histogram("h", "H.", {}, {1, 2, std::numeric_limits<double>::infinity()}));

  store.gauge("plain", "Plain.");
  EXPECT_THROW(store.computedGauge("plain", "Plain.", {}, [] { return 1.0; }),
               std::invalid_argument);
}

TEST(StoreImplTest, InvalidNamesThrow) {
  StoreImpl store(1);
  for (const char* name : {"", "1abc", "a-b", "a b", "é"}) {
    EXPECT_THROW(store.counter(name, "Help."), std::invalid_argument) << name;
  }
  EXPECT_NO_THROW(store.counter("_ok:name_1", "Help."));
  for (const char* label : {"", "1a", "a-b", "__reserved", "a:b"}) {
    EXPECT_THROW(store.counter("labelled", "Help.", {{label, "v"}}), std::invalid_argument)
        << label;
  }
  EXPECT_THROW(store.counter("dup", "Help.", {{"a", "1"}, {"a", "2"}}), std::invalid_argument);
  EXPECT_THROW(store.histogram("with_le", "Help.", {{"le", "1"}}, {1}), std::invalid_argument);
  EXPECT_NO_THROW(store.counter("counter_with_le", "Help.", {{"le", "1"}}));
  EXPECT_THROW(store.counter("no_help", ""), std::invalid_argument);
  // Label values are free text.
  EXPECT_NO_THROW(store.counter("free_values", "Help.", {{"route", "a \"b\"\n/c"}}));
  // Nothing was left half-registered by the failures.
  EXPECT_NO_THROW(store.gauge("fixed_after_failures", "Help.").inc());
}

TEST(StoreImplTest, HistogramSeriesNamesCannotBeTaken) {
  StoreImpl store(1);
  store.histogram("duration", "D.", {}, {1});
  EXPECT_THROW(store.counter("duration_count", "C."), std::invalid_argument);
  EXPECT_THROW(store.gauge("duration_sum", "S."), std::invalid_argument);
  EXPECT_THROW(store.counter("duration_bucket", "B."), std::invalid_argument);
  store.counter("other_count", "C.");
  EXPECT_THROW(store.histogram("other", "O.", {}, {1}), std::invalid_argument);
}

TEST(StoreImplTest, InvalidBucketsThrow) {
  StoreImpl store(1);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_THROW(store.histogram("h1", "H.", {}, {2, 1}), std::invalid_argument);
  EXPECT_THROW(store.histogram("h2", "H.", {}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(store.histogram("h3", "H.", {}, {1, nan}), std::invalid_argument);
  EXPECT_THROW(store.histogram("h4", "H.", {}, {-inf, 1}), std::invalid_argument);
  EXPECT_THROW(store.histogram("h5", "H.", {}, {inf, inf}), std::invalid_argument);
  EXPECT_NO_THROW(store.histogram("only_inf", "H.", {}, {}));
}

TEST(StoreImplTest, HistogramBucketsAreCumulative) {
  StoreImpl store(1);
  Histogram& histogram = store.histogram("h", "H.", {}, {1, 5, 10});
  for (double value : {0.5, 1.0, 3.0, 7.0, 100.0, -2.0}) {
    histogram.recordValue(value);
  }
  histogram.recordValue(std::numeric_limits<double>::quiet_NaN());  // dropped

  const HistogramValue value = store.snapshot().at(0).metrics.at(0).histogram;
  EXPECT_EQ(value.bounds, (std::vector<double>{1, 5, 10}));
  // A value equal to a bound falls in that bound's bucket ("le").
  EXPECT_EQ(value.cumulative, (std::vector<uint64_t>{3, 4, 5, 6}));
  EXPECT_EQ(value.count, 6u);
  EXPECT_DOUBLE_EQ(value.sum, 109.5);
}

TEST(StoreImplTest, GaugeSumsAcrossWorkersThatMoveInOneDirection) {
  StoreImpl store(2);
  Gauge& gauge = store.gauge("active", "Active.");
  std::thread up([&] {
    setCurrentThreadSlot(0);
    for (int i = 0; i < 10; ++i) {
      gauge.inc();
    }
  });
  up.join();
  std::thread down([&] {
    setCurrentThreadSlot(1);
    for (int i = 0; i < 13; ++i) {
      gauge.dec();
    }
  });
  down.join();
  EXPECT_EQ(gauge.value(), -3);
  EXPECT_EQ(store.snapshot().at(0).metrics.at(0).value, -3.0);
}

TEST(StoreImplTest, SnapshotIsOrderedByNameThenLabels) {
  StoreImpl store(1);
  store.gauge("zeta", "Z.").add(4);
  store.counter("alpha_total", "A.", {{"listener", "web"}, {"status", "5xx"}}).inc(2);
  store.counter("alpha_total", "A.", {{"listener", "tcp"}, {"status", "2xx"}}).inc(1);
  store.counter("alpha_total", "A.", {{"listener", "web"}, {"status", "2xx"}}).inc(3);
  store.histogram("mid", "M.", {{"route", "r"}}, {0.1});
  store.computedGauge("computed", "Computed.", {}, [] { return 12.5; });

  std::vector<FamilySnapshot> snapshot = store.snapshot();
  ASSERT_EQ(snapshot.size(), 4u);
  EXPECT_EQ(snapshot[0].name, "alpha_total");
  EXPECT_EQ(snapshot[0].type, MetricType::kCounter);
  EXPECT_EQ(snapshot[0].help, "A.");
  ASSERT_EQ(snapshot[0].metrics.size(), 3u);
  EXPECT_EQ(snapshot[0].metrics[0].labels, (Labels{{"listener", "tcp"}, {"status", "2xx"}}));
  EXPECT_EQ(snapshot[0].metrics[0].value, 1);
  EXPECT_EQ(snapshot[0].metrics[1].labels, (Labels{{"listener", "web"}, {"status", "2xx"}}));
  EXPECT_EQ(snapshot[0].metrics[1].value, 3);
  EXPECT_EQ(snapshot[0].metrics[2].labels, (Labels{{"listener", "web"}, {"status", "5xx"}}));
  EXPECT_EQ(snapshot[0].metrics[2].value, 2);
  EXPECT_EQ(snapshot[1].name, "computed");
  EXPECT_EQ(snapshot[1].type, MetricType::kGauge);
  EXPECT_EQ(snapshot[1].metrics.at(0).value, 12.5);
  EXPECT_EQ(snapshot[2].name, "mid");
  EXPECT_EQ(snapshot[2].type, MetricType::kHistogram);
  EXPECT_EQ(snapshot[2].metrics.at(0).histogram.cumulative, (std::vector<uint64_t>{0, 0}));
  EXPECT_EQ(snapshot[3].name, "zeta");
  EXPECT_EQ(snapshot[3].metrics.at(0).value, 4);
}

TEST(StoreImplTest, ComputedGaugeIsEvaluatedAtEachSnapshotAndCanBeReplaced) {
  StoreImpl store(1);
  double source = 1;
  store.computedGauge("derived", "Derived.", {}, [&source] { return source; });
  EXPECT_EQ(store.snapshot().at(0).metrics.at(0).value, 1);
  source = 2.5;
  EXPECT_EQ(store.snapshot().at(0).metrics.at(0).value, 2.5);
  store.computedGauge("derived", "Derived.", {}, [] { return -1.0; });
  EXPECT_EQ(store.snapshot().at(0).metrics.at(0).value, -1);
  EXPECT_THROW(store.computedGauge("derived", "Derived.", {}, nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace proxy::stats
