#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/event/dispatcher.h"
#include "common/event/timer_heap.h"

namespace proxy::event {

class FileEventImpl;
class TimerImpl;

// The event loop: epoll for descriptors, a min-heap of deadlines for timers, an
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

  // What epoll's data carries for a file event: its descriptor and a generation number
  // given at registration. An event is delivered only if the descriptor's entry in
  // file_events_ still has that generation, so a stale event for a file event destroyed
  // during the batch (its descriptor maybe reused) is skipped, and no per-event allocation
  // has to outlive its owner.
  static constexpr uint64_t kWakeKey = UINT64_MAX;
  FileEventImpl* findFileEvent(uint64_t key) const;

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

  TimerHeap timers_;
  std::vector<DeferredDeletablePtr> deferred_delete_;
  // Being destroyed by clearDeferredDeleteList(); empty (with its capacity) otherwise.
  std::vector<DeferredDeletablePtr> deferred_delete_batch_;
  // The live file event of each descriptor (by descriptor number), and the last generation.
  std::vector<FileEventImpl*> file_events_;
  uint32_t last_generation_ = 0;
  // Keys of the file events activated during this iteration.
  std::vector<uint64_t> activated_;

  std::mutex post_mutex_;
  std::vector<PostCb> posted_;
};

}  // namespace proxy::event
