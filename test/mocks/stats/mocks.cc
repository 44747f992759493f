#include "test/mocks/stats/mocks.h"

using testing::_;
using testing::NiceMock;
using testing::ReturnPointee;

namespace proxy::stats {
namespace {

template <class T>
NiceMock<T>& findOrCreate(std::map<MockScope::Key, std::unique_ptr<NiceMock<T>>>& handles,
                          const std::string& name, const Labels& labels) {
  std::unique_ptr<NiceMock<T>>& handle = handles[MockScope::Key(name, labels)];
  if (!handle) {
    handle = std::make_unique<NiceMock<T>>();
  }
  return *handle;
}

}  // namespace

MockCounter::MockCounter() {
  ON_CALL(*this, inc(_)).WillByDefault([this](uint64_t amount) { value_ += amount; });
  ON_CALL(*this, value()).WillByDefault(ReturnPointee(&value_));
}

MockCounter::~MockCounter() = default;

MockGauge::MockGauge() {
  ON_CALL(*this, add(_)).WillByDefault([this](int64_t amount) { value_ += amount; });
  ON_CALL(*this, value()).WillByDefault(ReturnPointee(&value_));
}

MockGauge::~MockGauge() = default;

MockHistogram::MockHistogram() {
  ON_CALL(*this, recordValue(_)).WillByDefault([this](double value) { values_.push_back(value); });
}

MockHistogram::~MockHistogram() = default;

MockScope::MockScope() {
  ON_CALL(*this, counter(_, _, _))
      .WillByDefault([this](const std::string& name, const std::string&,
                            const Labels& labels) -> Counter& { return counterFor(name, labels); });
  ON_CALL(*this, gauge(_, _, _))
      .WillByDefault([this](const std::string& name, const std::string&,
                            const Labels& labels) -> Gauge& { return gaugeFor(name, labels); });
  ON_CALL(*this, histogram(_, _, _, _))
      .WillByDefault(
          [this](const std::string& name, const std::string&, const Labels& labels,
                 const std::vector<double>&) -> Histogram& { return histogramFor(name, labels); });
}

MockScope::~MockScope() = default;

NiceMock<MockCounter>& MockScope::counterFor(const std::string& name, const Labels& labels) {
  return findOrCreate(counters_, name, labels);
}

NiceMock<MockGauge>& MockScope::gaugeFor(const std::string& name, const Labels& labels) {
  return findOrCreate(gauges_, name, labels);
}

NiceMock<MockHistogram>& MockScope::histogramFor(const std::string& name, const Labels& labels) {
  return findOrCreate(histograms_, name, labels);
}

}  // namespace proxy::stats
