// The network filter manager counts the connections that reach each filter itself
// (docs/behaviour.md §5), under the counters the chain installer set for it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/buffer/buffer_impl.h"
#include "common/network/filter_manager_impl.h"
#include "common/stats/filter_counters.h"
#include "common/stats/store_impl.h"
#include "test/mocks/network/mocks.h"

using testing::_;
using testing::NiceMock;
using testing::Return;

namespace proxy::network {
namespace {

class FilterManagerCountersTest : public testing::Test, public FilterManagerImpl::ReadBufferSource {
 protected:
  buffer::Instance& readBuffer() override { return buffer_; }
  bool readEndStream() const override { return false; }

  std::shared_ptr<NiceMock<MockReadFilter>> addReader(const stats::FilterCounters& counters,
                                                      FilterStatus on_new) {
    auto filter = std::make_shared<NiceMock<MockReadFilter>>();
    ON_CALL(*filter, onNewConnection()).WillByDefault(Return(on_new));
    ON_CALL(*filter, onData(_, _)).WillByDefault(Return(FilterStatus::kContinue));
    manager_.setInstallingFilterCounters(counters);
    manager_.addReadFilter(filter);
    return filter;
  }

  stats::StoreImpl store_{1};
  NiceMock<MockConnection> connection_;
  buffer::OwnedBuffer buffer_;
  FilterManagerImpl manager_{connection_, *this};
};

TEST_F(FilterManagerCountersTest, ConnectionsReachingEachFilterAreCountedOnce) {
  auto first = stats::FilterCounters::forNetworkFilter(store_, "tcp", "first");
  auto second = stats::FilterCounters::forNetworkFilter(store_, "tcp", "second");
  addReader(first, FilterStatus::kContinue);
  addReader(second, FilterStatus::kContinue);
  manager_.initializeReadFilters();
  buffer_.add("bytes");
  manager_.onRead();
  manager_.onRead();
  EXPECT_EQ(1u, first.invocations->value());
  EXPECT_EQ(1u, second.invocations->value());
  EXPECT_EQ(nullptr, first.local_replies);
}

TEST_F(FilterManagerCountersTest, FilterNotYetReachedIsNotCounted) {
  auto first = stats::FilterCounters::forNetworkFilter(store_, "tcp", "first");
  auto second = stats::FilterCounters::forNetworkFilter(store_, "tcp", "second");
  auto gate = addReader(first, FilterStatus::kStopIteration);
  addReader(second, FilterStatus::kContinue);
  manager_.initializeReadFilters();
  EXPECT_EQ(1u, first.invocations->value());
  EXPECT_EQ(0u, second.invocations->value());
  gate->callbacks_->continueReading();
  EXPECT_EQ(1u, second.invocations->value());
}

TEST_F(FilterManagerCountersTest, FiltersWithoutCountersAreNotCounted) {
  addReader(stats::FilterCounters{}, FilterStatus::kContinue);
  EXPECT_TRUE(manager_.initializeReadFilters());  // nothing to count, nothing to crash on
}

}  // namespace
}  // namespace proxy::network
