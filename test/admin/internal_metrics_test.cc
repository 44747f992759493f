#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "admin/prometheus_exposition.h"

namespace proxy::admin {
namespace {

using testing::HasSubstr;
using testing::Not;

TEST(InternalMetricsTest, NamesStartingWithTwoUnderscoresAreNotExposed) {
  stats::StoreImpl store(1);
  stats::Counter& hidden = store.counter("__internal_total_microseconds", "Feeds a mean.");
  hidden.inc(1500);
  store.computedGauge("visible_mean", "Derived from the internal counter.", {},
                      [&hidden] { return static_cast<double>(hidden.value()) / 1000; });
  std::string text = renderPrometheusText({std::make_shared<StatsCollector>(store)});
  EXPECT_THAT(text, Not(HasSubstr("__internal")));
  EXPECT_THAT(text, HasSubstr("visible_mean 1.5\n"));
}

}  // namespace
}  // namespace proxy::admin
