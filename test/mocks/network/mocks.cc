#include "test/mocks/network/mocks.h"

#include <atomic>

using testing::_;
using testing::Return;
using testing::ReturnPointee;
using testing::ReturnRef;

namespace proxy::network {
namespace {

uint64_t nextConnectionId() {
  static std::atomic<uint64_t> next_id{1};
  return next_id.fetch_add(1);
}

}  // namespace

MockConnectionCallbacks::MockConnectionCallbacks() = default;
MockConnectionCallbacks::~MockConnectionCallbacks() = default;

template <class Base>
MockConnectionBase<Base>::MockConnectionBase() : id_(nextConnectionId()) {
  ON_CALL(*this, addReadFilter(_)).WillByDefault([this](ReadFilterSharedPtr filter) {
    read_filters_.push_back(std::move(filter));
  });
  ON_CALL(*this, addWriteFilter(_)).WillByDefault([this](WriteFilterSharedPtr filter) {
    write_filters_.push_back(std::move(filter));
  });
  ON_CALL(*this, addFilter(_)).WillByDefault([this](FilterSharedPtr filter) {
    read_filters_.push_back(filter);
    write_filters_.push_back(std::move(filter));
  });

  ON_CALL(*this, id()).WillByDefault(Return(id_));
  ON_CALL(*this, dispatcher()).WillByDefault(ReturnRef(dispatcher_));
  ON_CALL(*this, addConnectionCallbacks(_)).WillByDefault([this](ConnectionCallbacks& callbacks) {
    callbacks_.push_back(&callbacks);
  });
  ON_CALL(*this, write(_, _)).WillByDefault([this](buffer::Instance& data, bool end_stream) {
    written_ += data.toString();
    data.drain(data.length());
    write_end_stream_ = write_end_stream_ || end_stream;
  });
  ON_CALL(*this, readDisable(_)).WillByDefault([this](bool disable) {
    read_disable_count_ += disable ? 1 : -1;
  });
  ON_CALL(*this, readEnabled()).WillByDefault([this]() { return read_disable_count_ == 0; });
  ON_CALL(*this, enableHalfClose(_)).WillByDefault([this](bool enabled) { half_close_ = enabled; });
  ON_CALL(*this, close(_, _)).WillByDefault([this](ConnectionCloseType, std::string_view reason) {
    if (state_ == ConnectionState::kClosed) {
      return;
    }
    state_ = ConnectionState::kClosed;
    close_reason_ = std::string(reason);
    raiseEvent(ConnectionEvent::kLocalClose);
  });
  ON_CALL(*this, state()).WillByDefault(ReturnPointee(&state_));
  ON_CALL(*this, closeReason()).WillByDefault(ReturnRef(close_reason_));
  ON_CALL(*this, setBufferLimits(_)).WillByDefault([this](uint32_t limit) {
    buffer_limit_ = limit;
  });
  ON_CALL(*this, bufferLimit()).WillByDefault(ReturnPointee(&buffer_limit_));
  ON_CALL(*this, setDelayedCloseTimeout(_)).WillByDefault([this](std::chrono::milliseconds t) {
    delayed_close_timeout_ = t;
  });
  ON_CALL(*this, aboveHighWatermark()).WillByDefault(ReturnPointee(&above_high_watermark_));
  ON_CALL(*this, remoteAddress()).WillByDefault(ReturnRef(remote_address_));
  ON_CALL(*this, localAddress()).WillByDefault(ReturnRef(local_address_));
  ON_CALL(*this, info()).WillByDefault(ReturnRef(info_));
}

template <class Base>
MockConnectionBase<Base>::~MockConnectionBase() = default;

template <class Base>
void MockConnectionBase<Base>::raiseEvent(ConnectionEvent event) {
  // A callback may register another while this runs (a filter reacting to kConnected);
  // std::list keeps the iteration valid and the newcomer is told too.
  for (ConnectionCallbacks* callbacks : callbacks_) {
    callbacks->onEvent(event);
  }
}

template <class Base>
void MockConnectionBase<Base>::raiseAboveHighWatermark() {
  above_high_watermark_ = true;
  for (ConnectionCallbacks* callbacks : callbacks_) {
    callbacks->onAboveWriteBufferHighWatermark();
  }
}

template <class Base>
void MockConnectionBase<Base>::raiseBelowLowWatermark() {
  above_high_watermark_ = false;
  for (ConnectionCallbacks* callbacks : callbacks_) {
    callbacks->onBelowWriteBufferLowWatermark();
  }
}

template class MockConnectionBase<Connection>;
template class MockConnectionBase<ClientConnection>;

MockConnection::MockConnection() = default;
MockConnection::~MockConnection() = default;

MockClientConnection::MockClientConnection() {
  ON_CALL(*this, connect()).WillByDefault([this]() { raiseEvent(ConnectionEvent::kConnected); });
  ON_CALL(*this, failureReason()).WillByDefault(ReturnRef(failure_reason_));
  ON_CALL(*this, failureErrno()).WillByDefault(ReturnPointee(&failure_errno_));
  ON_CALL(*this, transportFailure()).WillByDefault(ReturnPointee(&transport_failure_));
}

MockClientConnection::~MockClientConnection() = default;

MockTransportSocket::MockTransportSocket() {
  ON_CALL(*this, failureReason()).WillByDefault(ReturnRef(failure_reason_));
}

MockTransportSocket::~MockTransportSocket() = default;

MockTransportSocketFactory::MockTransportSocketFactory() {
  ON_CALL(*this, createTransportSocket(_)).WillByDefault([this](std::string_view host) {
    hosts_.emplace_back(host);
    return std::make_unique<testing::NiceMock<MockTransportSocket>>();
  });
  ON_CALL(*this, settingsKey()).WillByDefault(ReturnRef(settings_key_));
  ON_CALL(*this, serverName()).WillByDefault([this] { return std::string_view(server_name_); });
}

MockTransportSocketFactory::~MockTransportSocketFactory() = default;

MockReadFilterCallbacks::MockReadFilterCallbacks() {
  ON_CALL(*this, connection()).WillByDefault(ReturnRef(connection_));
}

MockReadFilterCallbacks::~MockReadFilterCallbacks() = default;

MockWriteFilterCallbacks::MockWriteFilterCallbacks() {
  ON_CALL(*this, connection()).WillByDefault(ReturnRef(connection_));
}

MockWriteFilterCallbacks::~MockWriteFilterCallbacks() = default;

MockReadFilter::MockReadFilter() {
  ON_CALL(*this, initializeReadFilterCallbacks(_))
      .WillByDefault([this](ReadFilterCallbacks& callbacks) { callbacks_ = &callbacks; });
  ON_CALL(*this, onNewConnection()).WillByDefault(Return(FilterStatus::kContinue));
  ON_CALL(*this, onData(_, _)).WillByDefault(Return(FilterStatus::kContinue));
}

MockReadFilter::~MockReadFilter() = default;

MockWriteFilter::MockWriteFilter() {
  ON_CALL(*this, initializeWriteFilterCallbacks(_))
      .WillByDefault([this](WriteFilterCallbacks& callbacks) { write_callbacks_ = &callbacks; });
  ON_CALL(*this, onWrite(_, _)).WillByDefault(Return(FilterStatus::kContinue));
}

MockWriteFilter::~MockWriteFilter() = default;

MockFilter::MockFilter() {
  ON_CALL(*this, initializeReadFilterCallbacks(_))
      .WillByDefault([this](ReadFilterCallbacks& callbacks) { callbacks_ = &callbacks; });
  ON_CALL(*this, onNewConnection()).WillByDefault(Return(FilterStatus::kContinue));
  ON_CALL(*this, onData(_, _)).WillByDefault(Return(FilterStatus::kContinue));
  ON_CALL(*this, initializeWriteFilterCallbacks(_))
      .WillByDefault([this](WriteFilterCallbacks& callbacks) { write_callbacks_ = &callbacks; });
  ON_CALL(*this, onWrite(_, _)).WillByDefault(Return(FilterStatus::kContinue));
}

MockFilter::~MockFilter() = default;

MockFilterManager::MockFilterManager() {
  ON_CALL(*this, addReadFilter(_)).WillByDefault([this](ReadFilterSharedPtr filter) {
    read_filters_.push_back(std::move(filter));
  });
  ON_CALL(*this, addWriteFilter(_)).WillByDefault([this](WriteFilterSharedPtr filter) {
    write_filters_.push_back(std::move(filter));
  });
  ON_CALL(*this, addFilter(_)).WillByDefault([this](FilterSharedPtr filter) {
    read_filters_.push_back(filter);
    write_filters_.push_back(std::move(filter));
  });
}

MockFilterManager::~MockFilterManager() = default;

}  // namespace proxy::network
