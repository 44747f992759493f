#include "common/event/dispatcher_impl.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace proxy::event {
namespace {

using std::chrono::milliseconds;

TEST(DispatcherImplTest, TimersFireInDeadlineOrder) {
  DispatcherImpl dispatcher("test");
  std::vector<int> fired;
  TimerPtr late = dispatcher.createTimer([&] { fired.push_back(2); });
  TimerPtr early = dispatcher.createTimer([&] { fired.push_back(1); });
  late->enableTimer(milliseconds(30));
  early->enableTimer(milliseconds(5));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (fired.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    dispatcher.runOnce(milliseconds(50));
  }
  EXPECT_EQ((std::vector<int>{1, 2}), fired);
  EXPECT_FALSE(early->enabled());
}

TEST(DispatcherImplTest, DisabledOrDestroyedTimerDoesNotFire) {
  DispatcherImpl dispatcher("test");
  int fired = 0;
  TimerPtr disabled = dispatcher.createTimer([&] { ++fired; });
  TimerPtr destroyed = dispatcher.createTimer([&] { ++fired; });
  disabled->enableTimer(milliseconds(0));
  destroyed->enableTimer(milliseconds(0));
  disabled->disableTimer();
  destroyed.reset();
  dispatcher.runOnce(milliseconds(10));
  EXPECT_EQ(0, fired);
}

TEST(DispatcherImplTest, TimerCallbackMayDestroyAnotherDueTimer) {
  DispatcherImpl dispatcher("test");
  TimerPtr second;
  int fired = 0;
  TimerPtr first = dispatcher.createTimer([&] {
    ++fired;
    second.reset();
  });
  second = dispatcher.createTimer([&] { ++fired; });
  first->enableTimer(milliseconds(0));
  second->enableTimer(milliseconds(0));
  std::this_thread::sleep_for(milliseconds(2));
  dispatcher.runOnce(milliseconds(10));
  EXPECT_EQ(1, fired);
}

// Runs the loop until `done` or 5 s; returns how long it took.
template <class Done>
std::chrono::steady_clock::duration runUntil(DispatcherImpl& dispatcher, Done done) {
  auto start = std::chrono::steady_clock::now();
  while (!done() && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    dispatcher.runOnce(milliseconds(5));
  }
  return std::chrono::steady_clock::now() - start;
}

TEST(DispatcherImplTest, TimerReArmedLaterFiresAtTheNewDeadlineNotTheOld) {
  // Re-arming later leaves the old map entry in place (lazy): when it comes due it must
  // move to the new deadline instead of firing.
  DispatcherImpl dispatcher("test");
  int fired = 0;
  TimerPtr timer = dispatcher.createTimer([&] { ++fired; });
  timer->enableTimer(milliseconds(10));
  timer->enableTimer(milliseconds(150));
  auto elapsed = runUntil(dispatcher, [&] { return fired > 0; });
  EXPECT_EQ(1, fired);
  EXPECT_GE(elapsed, milliseconds(140));
  EXPECT_FALSE(timer->enabled());
}

TEST(DispatcherImplTest, TimerReArmedEarlierFiresAtTheEarlierDeadline) {
  DispatcherImpl dispatcher("test");
  int fired = 0;
  TimerPtr timer = dispatcher.createTimer([&] { ++fired; });
  timer->enableTimer(std::chrono::seconds(60));
  timer->enableTimer(milliseconds(5));
  auto elapsed = runUntil(dispatcher, [&] { return fired > 0; });
  EXPECT_EQ(1, fired);
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(DispatcherImplTest, TimerDisabledThenReEnabledFiresOnceAtTheLastDeadline) {
  DispatcherImpl dispatcher("test");
  int fired = 0;
  TimerPtr timer = dispatcher.createTimer([&] { ++fired; });
  timer->enableTimer(milliseconds(5));
  timer->disableTimer();
  EXPECT_FALSE(timer->enabled());
  timer->enableTimer(milliseconds(80));
  EXPECT_TRUE(timer->enabled());
  auto elapsed = runUntil(dispatcher, [&] { return fired > 0; });
  EXPECT_EQ(1, fired);
  EXPECT_GE(elapsed, milliseconds(70));
  // Nothing is left to fire a second time.
  runUntil(dispatcher, [&, until = std::chrono::steady_clock::now() + milliseconds(50)] {
    return std::chrono::steady_clock::now() > until;
  });
  EXPECT_EQ(1, fired);
}

TEST(DispatcherImplTest, DisabledTimerWithAStaleEntryMayBeDestroyed) {
  DispatcherImpl dispatcher("test");
  int fired = 0;
  TimerPtr timer = dispatcher.createTimer([&] { ++fired; });
  timer->enableTimer(milliseconds(1));
  timer->disableTimer();
  timer.reset();  // its map entry must go with it
  std::this_thread::sleep_for(milliseconds(3));
  dispatcher.runOnce(milliseconds(5));
  EXPECT_EQ(0, fired);
}

TEST(DispatcherImplTest, PostFromAnotherThreadWakesTheLoop) {
  DispatcherImpl dispatcher("test");
  std::thread::id ran_on;
  std::thread poster([&] {
    std::this_thread::sleep_for(milliseconds(20));
    dispatcher.post([&] {
      ran_on = std::this_thread::get_id();
      dispatcher.exit();
    });
  });
  dispatcher.run();  // returns only because the posted callback ran
  poster.join();
  EXPECT_EQ(std::this_thread::get_id(), ran_on);
}

struct Tracked : DeferredDeletable {
  explicit Tracked(bool& deleted) : deleted_(deleted) {}
  ~Tracked() override { deleted_ = true; }
  bool& deleted_;
};

TEST(DispatcherImplTest, DeferredDeleteWaitsForTheEndOfTheEvent) {
  DispatcherImpl dispatcher("test");
  bool deleted = false;
  bool deleted_inside_callback = true;
  TimerPtr timer = dispatcher.createTimer([&] {
    dispatcher.deferredDelete(std::make_unique<Tracked>(deleted));
    deleted_inside_callback = deleted;
  });
  timer->enableTimer(milliseconds(0));
  dispatcher.runOnce(milliseconds(10));
  EXPECT_FALSE(deleted_inside_callback);
  EXPECT_TRUE(deleted);
}

TEST(DispatcherImplTest, FileEventReportsReadinessAndActivation) {
  DispatcherImpl dispatcher("test");
  int fds[2];
  ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds));
  uint32_t seen = 0;
  FileEventPtr event = dispatcher.createFileEvent(
      fds[0], [&](uint32_t events) { seen |= events; }, FileTriggerType::kEdge,
      FileReadyType::kRead);
  ASSERT_EQ(1, ::write(fds[1], "x", 1));
  dispatcher.runOnce(milliseconds(100));
  EXPECT_TRUE(seen & FileReadyType::kRead);
  seen = 0;
  event->activate(FileReadyType::kWrite);
  dispatcher.runOnce(milliseconds(0));
  EXPECT_EQ(FileReadyType::kWrite, seen);
  event.reset();
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(DispatcherImplTest, EventForADestroyedFileEventInTheSameBatchIsSkipped) {
  DispatcherImpl dispatcher("test");
  int a[2];
  int b[2];
  ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a));
  ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b));
  FileEventPtr first;
  FileEventPtr second;
  int calls = 0;
  // Whichever fires first destroys the other; the other's pending event must not run.
  first = dispatcher.createFileEvent(
      a[0],
      [&](uint32_t) {
        ++calls;
        second.reset();
      },
      FileTriggerType::kEdge, FileReadyType::kRead);
  second = dispatcher.createFileEvent(
      b[0],
      [&](uint32_t) {
        ++calls;
        first.reset();
      },
      FileTriggerType::kEdge, FileReadyType::kRead);
  ASSERT_EQ(1, ::write(a[1], "x", 1));
  ASSERT_EQ(1, ::write(b[1], "x", 1));
  dispatcher.runOnce(milliseconds(100));
  EXPECT_EQ(1, calls);
  for (int fd : {a[0], a[1], b[0], b[1]}) {
    ::close(fd);
  }
}

}  // namespace
}  // namespace proxy::event

namespace proxy::event {
namespace {

TEST(DispatcherImplFileEventTest, DescriptorClosedByItsOwnerNeedsNoUnregister) {
  // descriptorClosing() skips EPOLL_CTL_DEL; closing the descriptor removes it from the poll
  // set, so the same descriptor number can be registered again at once.
  DispatcherImpl dispatcher("test");
  int fds[2];
  ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds));
  const int number = fds[0];
  FileEventPtr event = dispatcher.createFileEvent(
      fds[0], [](uint32_t) {}, FileTriggerType::kEdge, FileReadyType::kRead);
  event->descriptorClosing();
  event.reset();
  ::close(fds[0]);
  int again[2];
  ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, again));
  ASSERT_EQ(number, again[0]);  // the lowest free number comes back
  uint32_t seen = 0;
  EXPECT_NO_THROW(event = dispatcher.createFileEvent(
                      again[0], [&](uint32_t events) { seen |= events; }, FileTriggerType::kEdge,
                      FileReadyType::kRead));
  ASSERT_EQ(1, ::write(again[1], "x", 1));
  dispatcher.runOnce(std::chrono::milliseconds(50));
  EXPECT_TRUE(seen & FileReadyType::kRead);
  event.reset();
  ::close(again[0]);
  ::close(again[1]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace proxy::event
