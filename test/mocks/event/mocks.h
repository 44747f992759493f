#pragma once

#include <gmock/gmock.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "api/event/dispatcher.h"
#include "api/event/file_event.h"
#include "api/event/timer.h"

namespace proxy::event {

// The live objects of one kind a MockDispatcher handed out. Shared with the objects, so one
// destroyed after its dispatcher can still take itself off the list.
template <class T>
using MockRegistry = std::shared_ptr<std::vector<T*>>;

class MockDispatcher;

// A timer that never fires on its own: a test fires it with invokeCallback(). By default
// enableTimer()/disableTimer() are tracked and enabled() reports them.
//
// Get one either from MockDispatcher::timers() after the code under test called
// createTimer(), or, as in Envoy, by creating it up front with `new MockTimer(&dispatcher)`:
// it is then returned (and owned by the caller) on the next createTimer() call.
class MockTimer : public Timer {
 public:
  MockTimer();
  explicit MockTimer(MockDispatcher* dispatcher);
  ~MockTimer() override;

  // event::Timer
  MOCK_METHOD(void, enableTimer, (std::chrono::milliseconds duration), (override));
  MOCK_METHOD(void, disableTimer, (), (override));
  MOCK_METHOD(bool, enabled, (), (const, override));

  // Fires the timer as the dispatcher would: it is disabled first, then the callback runs.
  void invokeCallback();

  TimerCb callback_;
  bool enabled_ = false;
  std::chrono::milliseconds duration_{0};  // of the last enableTimer()

 private:
  friend class MockDispatcher;
  MockRegistry<MockTimer> registry_;
};

// A file event that reports nothing by itself: a test reports readiness with fire().
// setEnabled() is tracked in enabled_events_; activate() only records its events in
// activated_events_ (a test fires them when it chooses, since the real one reports them
// later in the loop iteration, never from inside the call).
class MockFileEvent : public FileEvent {
 public:
  MockFileEvent();
  ~MockFileEvent() override;

  // event::FileEvent
  MOCK_METHOD(void, setEnabled, (uint32_t events), (override));
  MOCK_METHOD(void, activate, (uint32_t events), (override));

  // Runs the callback with `events` (FileReadyType bits), as the dispatcher would.
  void fire(uint32_t events) { callback_(events); }
  // Reports what activate() queued, as the end of the loop iteration would, and clears it.
  void fireActivated();

  int fd_ = -1;
  FileReadyCb callback_;
  FileTriggerType trigger_ = FileTriggerType::kEdge;
  uint32_t enabled_events_ = 0;
  uint32_t activated_events_ = 0;

 private:
  friend class MockDispatcher;
  MockRegistry<MockFileEvent> registry_;
};

// A dispatcher that runs nothing by itself. Defaults: name() is "test_dispatcher";
// isThreadSafe() is true; post() runs the callback at once; deferredDelete() keeps the
// object until clearDeferredDeleteList() or destruction; approximateMonotonicTime() returns
// time_; createTimer() and createFileEvent() return new NiceMock objects holding the
// callback, listed in timers() and fileEvents(); createClientConnection() returns a new
// NiceMock<network::MockClientConnection> whose remote address is the one asked for and
// which holds the transport socket given (its transport_socket_).
//
// The factories are mocked through the raw-pointer methods createTimer_(),
// createFileEvent_(), createClientConnection_() (the override wraps the result in its
// unique_ptr), so a test can `Return(new NiceMock<MockTimer>())`; deferredDelete_() sees
// each object given to deferredDelete(). createTimer_() carries an AnyNumber() expectation,
// so timers made up front and default ones mix, even in a StrictMock.
class MockDispatcher : public Dispatcher {
 public:
  MockDispatcher();
  explicit MockDispatcher(std::string name);
  ~MockDispatcher() override;

  // event::Dispatcher
  MOCK_METHOD(const std::string&, name, (), (const, override));
  FileEventPtr createFileEvent(int fd, FileReadyCb cb, FileTriggerType trigger,
                               uint32_t events) override;
  TimerPtr createTimer(TimerCb cb) override;
  network::ClientConnectionPtr createClientConnection(
      const network::Address& address, network::TransportSocketPtr transport_socket) override;
  using Dispatcher::createClientConnection;
  void deferredDelete(DeferredDeletablePtr&& object) override;
  MOCK_METHOD(void, post, (PostCb cb), (override));
  MOCK_METHOD(bool, isThreadSafe, (), (const, override));
  MOCK_METHOD(MonotonicTime, approximateMonotonicTime, (), (const, override));
  MOCK_METHOD(void, run, (), (override));
  MOCK_METHOD(void, exit, (), (override));

  MOCK_METHOD(FileEvent*, createFileEvent_,
              (int fd, FileReadyCb cb, FileTriggerType trigger, uint32_t events));
  MOCK_METHOD(Timer*, createTimer_, (TimerCb cb));
  MOCK_METHOD(network::ClientConnection*, createClientConnection_,
              (const network::Address& address));
  MOCK_METHOD(void, deferredDelete_, (DeferredDeletable * object));

  // The MockTimers and MockFileEvents created through this dispatcher that still exist, in
  // creation order.
  const std::vector<MockTimer*>& timers() const { return *timers_; }
  const std::vector<MockFileEvent*>& fileEvents() const { return *file_events_; }

  // Destroys the objects given to deferredDelete(), as the end of an event would.
  void clearDeferredDeleteList() { to_delete_.clear(); }

  std::string name_;
  MonotonicTime time_{};
  std::vector<DeferredDeletablePtr> to_delete_;

 private:
  MockRegistry<MockTimer> timers_ = std::make_shared<std::vector<MockTimer*>>();
  MockRegistry<MockFileEvent> file_events_ = std::make_shared<std::vector<MockFileEvent*>>();
};

}  // namespace proxy::event
