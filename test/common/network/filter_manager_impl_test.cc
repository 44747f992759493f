#include "common/network/filter_manager_impl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace proxy::network
