#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/event/dispatcher.h"

namespace proxy::event {

class TimerImpl;

// The event loop: epoll for descriptors, an ordered map of deadlines for timers, an
// eventfd to be woken by post() and exit() from other threads, and a list of objects to
// destroy once the current batch of events is handled.
class DispatcherImpl final : public Dispatcher {
 public:
  explicit DispatcherImpl(std::string name);
  ~DispatcherImpl() override;

  // event::Dispatcher
  const std::string& name() const override { return name_; }
  FileEventPtr createFileEvent(int fd, FileReadyCb cb, FileTriggerType trigger,
                               uint32_t events) override;
  TimerPtr createTimer(TimerCb cb) override;
  network::ClientConnectionPtr createClientConnection(
      const network::Address& address, network::TransportSocketPtr transport_socket) override;
  using Dispatcher::createClientConnection;
  void deferredDelete(DeferredDeletablePtr&& object) override;
  void post(PostCb cb) override;
  bool isThreadSafe() const override;
  MonotonicTime approximateMonotonicTime() const override { return now_; }
  void run() override;
  void exit() override;

  // Runs one iteration, waiting at most `max_wait` for an event; for tests.
  void runOnce(std::chrono::milliseconds max_wait);

 private:
  friend class FileEventImpl;
  friend class TimerImpl;

  // What epoll's data pointer refers to. A FileEventImpl destroyed while a batch is being
  // handled clears `owner`, and the slot itself is freed after the batch, so a stale event
  // for a closed (and maybe reused) descriptor is skipped instead of touching freed memory.
  struct EventSlot {
    class FileEventImpl* owner = nullptr;
    uint32_t activated = 0;  // events queued by activate() and not yet reported
  };
  using TimerMap = std::multimap<MonotonicTime, TimerImpl*>;

  void iterate(int timeout_ms);
  void runActivated();
  int nextTimeoutMs() const;
  void runTimers();
  void runPostCallbacks();
  void clearDeferredDeleteList();
  void updateTime() { now_ = std::chrono::steady_clock::now(); }

  const std::string name_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread::id thread_id_;
  std::atomic<bool> exit_requested_{false};
  MonotonicTime now_;

  TimerMap timers_;
  std::vector<DeferredDeletablePtr> deferred_delete_;
  // Being destroyed by clearDeferredDeleteList(); empty (with its capacity) otherwise.
  std::vector<DeferredDeletablePtr> deferred_delete_batch_;
  std::vector<std::unique_ptr<EventSlot>> dead_slots_;
  // Slots activated during this iteration, with the events to report.
  std::vector<EventSlot*> activated_;

  std::mutex post_mutex_;
  std::vector<PostCb> posted_;
};

}  // namespace proxy::event
