#include "common/network/filter_manager_impl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "common/buffer/buffer_impl.h"
#include "test/mocks/network/mocks.h"

using testing::_;
using testing::InSequence;
using testing::NiceMock;
using testing::Return;
using testing::StrictMock;

namespace proxy::network {
namespace {

class FilterManagerImplTest : public testing::Test, public FilterManagerImpl::ReadBufferSource {
 protected:
  // FilterManagerImpl::ReadBufferSource
  buffer::Instance& readBuffer() override { return buffer_; }
  bool readEndStream() const override { return end_stream_; }

  std::shared_ptr<StrictMock<MockReadFilter>> addReader() {
    auto filter = std::make_shared<StrictMock<MockReadFilter>>();
    EXPECT_CALL(*filter, initializeReadFilterCallbacks(_))
        .WillOnce(
            [raw = filter.get()](ReadFilterCallbacks& callbacks) { raw->callbacks_ = &callbacks; });
    manager_.addReadFilter(filter);
    return filter;
  }

  NiceMock<MockConnection> connection_;
  buffer::OwnedBuffer buffer_;
  bool end_stream_ = false;
  FilterManagerImpl manager_{connection_, *this};
};

TEST_F(FilterManagerImplTest, NewConnectionThenDataInOrder) {
  auto first = addReader();
  auto second = addReader();
  {
    InSequence sequence;
    EXPECT_CALL(*first, onNewConnection()).WillOnce(Return(FilterStatus::kContinue));
    EXPECT_CALL(*second, onNewConnection()).WillOnce(Return(FilterStatus::kContinue));
  }
  EXPECT_TRUE(manager_.initializeReadFilters());
  buffer_.add("data");
  {
    InSequence sequence;
    EXPECT_CALL(*first, onData(_, false)).WillOnce(Return(FilterStatus::kContinue));
    EXPECT_CALL(*second, onData(_, false)).WillOnce(Return(FilterStatus::kContinue));
  }
  manager_.onRead();
}

TEST_F(FilterManagerImplTest, StopIterationHoldsTheRestUntilContinueReading) {
  auto first = addReader();
  auto second = addReader();
  EXPECT_CALL(*first, onNewConnection()).WillOnce(Return(FilterStatus::kStopIteration));
  manager_.initializeReadFilters();  // second is not told yet
  buffer_.add("held");
  EXPECT_CALL(*first, onData(_, false)).WillOnce(Return(FilterStatus::kStopIteration));
  manager_.onRead();
  testing::Mock::VerifyAndClearExpectations(second.get());
  {
    InSequence sequence;
    EXPECT_CALL(*second, onNewConnection()).WillOnce(Return(FilterStatus::kContinue));
    EXPECT_CALL(*second, onData(_, false)).WillOnce([](buffer::Instance& data, bool) {
      EXPECT_EQ("held", data.toString());
      return FilterStatus::kContinue;
    });
  }
  first->callbacks_->continueReading();
}

TEST_F(FilterManagerImplTest, EndStreamWithoutBytesIsDelivered) {
  auto only = addReader();
  EXPECT_CALL(*only, onNewConnection()).WillOnce(Return(FilterStatus::kContinue));
  manager_.initializeReadFilters();
  end_stream_ = true;
  EXPECT_CALL(*only, onData(_, true)).WillOnce(Return(FilterStatus::kContinue));
  manager_.onRead();
}

TEST_F(FilterManagerImplTest, ClosedConnectionStopsTheChain) {
  auto first = addReader();
  auto second = addReader();
  EXPECT_CALL(*first, onNewConnection()).WillOnce([this] {
    connection_.state_ = ConnectionState::kClosed;
    return FilterStatus::kContinue;
  });
  manager_.initializeReadFilters();  // StrictMock: second must see nothing
}

TEST_F(FilterManagerImplTest, WriteFiltersRunInReverseAndMayStop) {
  auto inner = std::make_shared<NiceMock<MockWriteFilter>>();
  auto outer = std::make_shared<NiceMock<MockWriteFilter>>();
  manager_.addWriteFilter(inner);
  manager_.addWriteFilter(outer);
  buffer::OwnedBuffer data;
  {
    InSequence sequence;
    EXPECT_CALL(*outer, onWrite(_, false)).WillOnce(Return(FilterStatus::kContinue));
    EXPECT_CALL(*inner, onWrite(_, false)).WillOnce(Return(FilterStatus::kStopIteration));
  }
  EXPECT_FALSE(manager_.onWrite(data, false));
}

// A read filter that notes when it is destroyed.
class DestructionRecordingFilter : public ReadFilter {
 public:
  DestructionRecordingFilter(std::vector<int>& log, int id) : log_(log), id_(id) {}
  ~DestructionRecordingFilter() override { log_.push_back(id_); }
  void initializeReadFilterCallbacks(ReadFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  FilterStatus onNewConnection() override { return FilterStatus::kContinue; }
  FilterStatus onData(buffer::Instance&, bool) override {
    ++data_calls_;
    return FilterStatus::kContinue;
  }
  std::vector<int>& log_;
  const int id_;
  ReadFilterCallbacks* callbacks_ = nullptr;
  int data_calls_ = 0;
};

TEST_F(FilterManagerImplTest, ManyFiltersRunInOrderAndAreDestroyedFrontToBack) {
  std::vector<int> destroyed;
  std::vector<DestructionRecordingFilter*> filters;
  {
    FilterManagerImpl manager(connection_, *this);
    for (int i = 0; i < 5; ++i) {
      auto filter = std::make_shared<DestructionRecordingFilter>(destroyed, i);
      filters.push_back(filter.get());
      manager.addReadFilter(filter);
    }
    buffer_.add("x");
    EXPECT_TRUE(manager.initializeReadFilters());
    for (auto* filter : filters) {
      EXPECT_EQ(1, filter->data_calls_);
    }
    // Resuming after the third runs only the fourth and the fifth.
    filters[2]->callbacks_->continueReading();
    EXPECT_EQ(1, filters[2]->data_calls_);
    EXPECT_EQ(2, filters[3]->data_calls_);
    EXPECT_EQ(2, filters[4]->data_calls_);
    EXPECT_TRUE(destroyed.empty());
  }
  EXPECT_EQ((std::vector<int>{0, 1, 2, 3, 4}), destroyed);
}

}  // namespace
}  // namespace proxy::network
