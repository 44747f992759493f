#include "test/mocks/event/mocks.h"

#include "test/mocks/network/mocks.h"

using testing::_;
using testing::AnyNumber;
using testing::NiceMock;
using testing::Return;
using testing::ReturnPointee;
using testing::ReturnRef;

namespace proxy::event {
namespace {

template <class T>
void forget(const MockRegistry<T>& registry, T* object) {
  if (registry) {
    registry->erase(std::remove(registry->begin(), registry->end(), object), registry->end());
  }
}

}  // namespace

MockTimer::MockTimer() {
  ON_CALL(*this, enableTimer(_)).WillByDefault([this](std::chrono::milliseconds duration) {
    enabled_ = true;
    duration_ = duration;
  });
  ON_CALL(*this, disableTimer()).WillByDefault([this]() { enabled_ = false; });
  ON_CALL(*this, enabled()).WillByDefault(ReturnPointee(&enabled_));
}

MockTimer::MockTimer(MockDispatcher* dispatcher) : MockTimer() {
  EXPECT_CALL(*dispatcher, createTimer_(_)).WillOnce(Return(this)).RetiresOnSaturation();
}

MockTimer::~MockTimer() { forget(registry_, this); }

void MockTimer::invokeCallback() {
  enabled_ = false;
  callback_();
}

MockFileEvent::MockFileEvent() {
  ON_CALL(*this, setEnabled(_)).WillByDefault([this](uint32_t events) {
    enabled_events_ = events;
  });
  ON_CALL(*this, activate(_)).WillByDefault([this](uint32_t events) {
    activated_events_ |= events;
  });
}

void MockFileEvent::fireActivated() {
  uint32_t events = activated_events_;
  activated_events_ = 0;
  if (events != 0) {
    callback_(events);
  }
}

MockFileEvent::~MockFileEvent() { forget(registry_, this); }

MockDispatcher::MockDispatcher() : MockDispatcher("test_dispatcher") {}

MockDispatcher::MockDispatcher(std::string name) : name_(std::move(name)) {
  ON_CALL(*this, name()).WillByDefault(ReturnRef(name_));
  ON_CALL(*this, post(_)).WillByDefault([](PostCb cb) { cb(); });
  ON_CALL(*this, isThreadSafe()).WillByDefault(Return(true));
  ON_CALL(*this, approximateMonotonicTime()).WillByDefault(ReturnPointee(&time_));
  ON_CALL(*this, createTimer_(_)).WillByDefault([](TimerCb) { return new NiceMock<MockTimer>(); });
  // Once a MockTimer made up front has been handed out, its expectation retires; this one
  // lets later createTimer() calls take the default action instead of failing as unexpected.
  EXPECT_CALL(*this, createTimer_(_)).Times(AnyNumber());
  ON_CALL(*this, createFileEvent_(_, _, _, _))
      .WillByDefault([](int, FileReadyCb, FileTriggerType, uint32_t) {
        return new NiceMock<MockFileEvent>();
      });
  ON_CALL(*this, createClientConnection_(_)).WillByDefault([](const network::Address&) {
    return new NiceMock<network::MockClientConnection>();
  });
}

MockDispatcher::~MockDispatcher() = default;

FileEventPtr MockDispatcher::createFileEvent(int fd, FileReadyCb cb, FileTriggerType trigger,
                                             uint32_t events) {
  FileEvent* event = createFileEvent_(fd, cb, trigger, events);
  if (auto* mock = dynamic_cast<MockFileEvent*>(event); mock != nullptr) {
    mock->fd_ = fd;
    mock->callback_ = std::move(cb);
    mock->trigger_ = trigger;
    mock->enabled_events_ = events;
    if (!mock->registry_) {
      mock->registry_ = file_events_;
      file_events_->push_back(mock);
    }
  }
  return FileEventPtr(event);
}

TimerPtr MockDispatcher::createTimer(TimerCb cb) {
  Timer* timer = createTimer_(cb);
  if (auto* mock = dynamic_cast<MockTimer*>(timer); mock != nullptr) {
    mock->callback_ = std::move(cb);
    if (!mock->registry_) {
      mock->registry_ = timers_;
      timers_->push_back(mock);
    }
  }
  return TimerPtr(timer);
}

network::ClientConnectionPtr MockDispatcher::createClientConnection(
    const network::Address& address, network::TransportSocketPtr transport_socket) {
  network::ClientConnection* connection = createClientConnection_(address);
  if (auto* mock = dynamic_cast<network::MockClientConnection*>(connection); mock != nullptr) {
    if (!mock->remote_address_.valid()) {
      mock->remote_address_ = address;
    }
    mock->transport_socket_ = std::move(transport_socket);
  }
  return network::ClientConnectionPtr(connection);
}

void MockDispatcher::deferredDelete(DeferredDeletablePtr&& object) {
  deferredDelete_(object.get());
  if (object) {
    to_delete_.push_back(std::move(object));
  }
}

}  // namespace proxy::event
