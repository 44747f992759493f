#pragma once

#include <gmock/gmock.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/stats/stats.h"

namespace proxy::stats {

// inc() adds to value_, which value() returns.
class MockCounter : public Counter {
 public:
  MockCounter();
  ~MockCounter() override;

  // stats::Counter
  MOCK_METHOD(void, inc, (uint64_t amount), (override));
  MOCK_METHOD(uint64_t, value, (), (const, override));

  uint64_t value_ = 0;
};

// add() adds to value_, which value() returns.
class MockGauge : public Gauge {
 public:
  MockGauge();
  ~MockGauge() override;

  // stats::Gauge
  MOCK_METHOD(void, add, (int64_t amount), (override));
  MOCK_METHOD(int64_t, value, (), (const, override));

  int64_t value_ = 0;
};

// recordValue() appends to values_.
class MockHistogram : public Histogram {
 public:
  MockHistogram();
  ~MockHistogram() override;

  // stats::Histogram
  MOCK_METHOD(void, recordValue, (double value), (override));

  std::vector<double> values_;
};

// Hands out one NiceMock handle per (name, labels), created on first use and kept for the
// scope's life, like the real store. A test that wants real counting can use
// stats::StoreImpl (common/stats/store_impl.h) instead; this one lets a test expect calls:
//   EXPECT_CALL(scope.counterFor("x_total"), inc(1));
// after the code under test created the handle (or create it first through counter()).
class MockScope : public Scope {
 public:
  MockScope();
  ~MockScope() override;

  // stats::Scope
  MOCK_METHOD(Counter&, counter,
              (const std::string& name, const std::string& help, const Labels& labels), (override));
  MOCK_METHOD(Gauge&, gauge,
              (const std::string& name, const std::string& help, const Labels& labels), (override));
  MOCK_METHOD(Histogram&, histogram,
              (const std::string& name, const std::string& help, const Labels& labels,
               const std::vector<double>& buckets),
              (override));
  MOCK_METHOD(void, computedGauge,
              (const std::string& name, const std::string& help, const Labels& labels,
               std::function<double()> compute),
              (override));

  // The handle for (name, labels), created if absent.
  testing::NiceMock<MockCounter>& counterFor(const std::string& name, const Labels& labels = {});
  testing::NiceMock<MockGauge>& gaugeFor(const std::string& name, const Labels& labels = {});
  testing::NiceMock<MockHistogram>& histogramFor(const std::string& name,
                                                 const Labels& labels = {});

  using Key = std::pair<std::string, Labels>;
  std::map<Key, std::unique_ptr<testing::NiceMock<MockCounter>>> counters_;
  std::map<Key, std::unique_ptr<testing::NiceMock<MockGauge>>> gauges_;
  std::map<Key, std::unique_ptr<testing::NiceMock<MockHistogram>>> histograms_;
};

}  // namespace proxy::stats
