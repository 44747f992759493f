#include "common/event/dispatcher_impl.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/network/connection_impl.h"

namespace proxy::event {

class FileEventImpl final : public FileEvent {
 public:
  FileEventImpl(DispatcherImpl& dispatcher, int fd, FileReadyCb cb, FileTriggerType trigger,
                uint32_t events)
      : dispatcher_(dispatcher),
        cb_(std::move(cb)),
        fd_(fd),
        generation_(++dispatcher.last_generation_),
        trigger_(trigger) {
    epoll_event event = toEpoll(events);
    if (epoll_ctl(dispatcher_.epoll_fd_, EPOLL_CTL_ADD, fd_, &event) != 0) {
      throw std::runtime_error(std::string("epoll_ctl(ADD): ") + std::strerror(errno));
    }
    auto index = static_cast<size_t>(fd_);
    if (index >= dispatcher_.file_events_.size()) {
      dispatcher_.file_events_.resize(index + 1, nullptr);
    }
    dispatcher_.file_events_[index] = this;
  }

  ~FileEventImpl() override {
    if (!descriptor_closing_) {
      epoll_ctl(dispatcher_.epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
    }
    FileEventImpl*& entry = dispatcher_.file_events_[static_cast<size_t>(fd_)];
    if (entry == this) {
      entry = nullptr;  // events still queued for this key are skipped
    }
  }

  uint64_t key() const {
    return (static_cast<uint64_t>(generation_) << 32) | static_cast<uint32_t>(fd_);
  }
  uint32_t generation() const { return generation_; }

  void setEnabled(uint32_t events) override {
    epoll_event event = toEpoll(events);
    epoll_ctl(dispatcher_.epoll_fd_, EPOLL_CTL_MOD, fd_, &event);
  }

  void descriptorClosing() override { descriptor_closing_ = true; }

  void activate(uint32_t events) override {
    if (activated_ == 0) {
      dispatcher_.activated_.push_back(key());
    }
    activated_ |= events;
  }

  void fireActivated() {
    uint32_t events = activated_;
    activated_ = 0;
    if (events != 0) {
      cb_(events);
    }
  }

  void fire(uint32_t epoll_events) {
    uint32_t ready = 0;
    if (epoll_events & (EPOLLIN | EPOLLRDHUP)) {
      ready |= FileReadyType::kRead;
    }
    if (epoll_events & EPOLLOUT) {
      ready |= FileReadyType::kWrite;
    }
    if (epoll_events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
      ready |= FileReadyType::kClosed;
    }
    cb_(ready);
  }

 private:
  epoll_event toEpoll(uint32_t events) const {
    epoll_event event{};
    event.data.u64 = key();
    if (events & FileReadyType::kRead) {
      event.events |= EPOLLIN | EPOLLRDHUP;
    }
    if (events & FileReadyType::kWrite) {
      event.events |= EPOLLOUT;
    }
    if (trigger_ == FileTriggerType::kEdge) {
      event.events |= EPOLLET;
    }
    return event;
  }

  DispatcherImpl& dispatcher_;
  FileReadyCb cb_;
  const int fd_;
  const uint32_t generation_;
  uint32_t activated_ = 0;  // events queued by activate() and not yet reported
  const FileTriggerType trigger_;
  bool descriptor_closing_ = false;
};

FileEventImpl* DispatcherImpl::findFileEvent(uint64_t key) const {
  auto fd = static_cast<size_t>(static_cast<uint32_t>(key));
  if (fd >= file_events_.size()) {
    return nullptr;
  }
  FileEventImpl* event = file_events_[fd];
  return event != nullptr && event->generation() == static_cast<uint32_t>(key >> 32) ? event
                                                                                     : nullptr;
}

// Timers are re-armed all the time (idle and header timeouts move on every request) and
// almost never fire. So arming and disarming are lazy: a timer keeps at most one entry in
// the dispatcher's heap, and that entry is only moved when the new deadline is earlier.
// A disarmed timer, or one whose deadline moved later, is found stale when its entry comes
// due and is dropped or re-inserted then. Most re-arms thus touch no map node at all.
class TimerImpl final : public Timer, private TimerHeap::Entry {
 public:
  TimerImpl(DispatcherImpl& dispatcher, TimerCb cb) : dispatcher_(dispatcher), cb_(std::move(cb)) {}
  ~TimerImpl() override {
    if (inHeap()) {
      dispatcher_.timers_.remove(*this);
    }
  }

  void enableTimer(std::chrono::milliseconds duration) override {
    // Measured from the real clock, not the loop's cached time, so a timer armed late in a
    // long iteration is not cut short.
    deadline_ = std::chrono::steady_clock::now() + duration;
    if (inHeap() && due <= deadline_) {
      return;  // the entry comes due first and re-inserts itself at deadline_
    }
    insert();
  }

  void disableTimer() override { deadline_ = kDisarmed; }

  bool enabled() const override { return deadline_ != kDisarmed; }

 private:
  friend class DispatcherImpl;

  void insert() {
    if (inHeap()) {
      dispatcher_.timers_.update(*this, deadline_);
    } else {
      dispatcher_.timers_.push(*this, deadline_);
    }
  }

  // The dispatcher removed this timer's entry because it came due at `now`.
  void onEntryDue(MonotonicTime now) {
    if (!enabled()) {
      return;
    }
    if (deadline_ > now) {
      insert();
      return;
    }
    deadline_ = kDisarmed;
    cb_();
  }

  DispatcherImpl& dispatcher_;
  TimerCb cb_;
  // No armed flag beside it: a flag would round the timer up to the next malloc size.
  static constexpr MonotonicTime kDisarmed = MonotonicTime::min();
  MonotonicTime deadline_ = kDisarmed;
};

DispatcherImpl::DispatcherImpl(std::string name)
    : name_(std::move(name)), thread_id_(std::this_thread::get_id()) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    throw std::runtime_error(std::string("cannot create event loop: ") + std::strerror(errno));
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kWakeKey;  // the wake descriptor
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);
  updateTime();
}

DispatcherImpl::~DispatcherImpl() {
  clearDeferredDeleteList();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

FileEventPtr DispatcherImpl::createFileEvent(int fd, FileReadyCb cb, FileTriggerType trigger,
                                             uint32_t events) {
  return std::make_unique<FileEventImpl>(*this, fd, std::move(cb), trigger, events);
}

TimerPtr DispatcherImpl::createTimer(TimerCb cb) {
  return std::make_unique<TimerImpl>(*this, std::move(cb));
}

network::ClientConnectionPtr DispatcherImpl::createClientConnection(
    const network::Address& address, network::TransportSocketPtr transport_socket) {
  return std::make_unique<network::ClientConnectionImpl>(*this, address,
                                                         std::move(transport_socket));
}

void DispatcherImpl::deferredDelete(DeferredDeletablePtr&& object) {
  deferred_delete_.push_back(std::move(object));
}

void DispatcherImpl::post(PostCb cb) {
  {
    std::lock_guard<std::mutex> lock(post_mutex_);
    posted_.push_back(std::move(cb));
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

bool DispatcherImpl::isThreadSafe() const { return std::this_thread::get_id() == thread_id_; }

void DispatcherImpl::exit() {
  exit_requested_ = true;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

void DispatcherImpl::run() {
  thread_id_ = std::this_thread::get_id();
  while (!exit_requested_) {
    iterate(nextTimeoutMs());
  }
  // Callbacks posted before exit() still run: they may release resources owned elsewhere.
  runPostCallbacks();
  clearDeferredDeleteList();
}

void DispatcherImpl::runOnce(std::chrono::milliseconds max_wait) {
  thread_id_ = std::this_thread::get_id();
  int timeout = nextTimeoutMs();
  if (timeout < 0 || timeout > max_wait.count()) {
    timeout = static_cast<int>(max_wait.count());
  }
  iterate(timeout);
}

int DispatcherImpl::nextTimeoutMs() const {
  if (!deferred_delete_.empty() || !activated_.empty()) {
    return 0;
  }
  if (timers_.empty()) {
    return -1;
  }
  // The first entry may be stale (disarmed or moved later): waking for it costs one early
  // iteration, which drops or re-inserts it.
  auto wait = timers_.top().due - std::chrono::steady_clock::now();
  if (wait <= wait.zero()) {
    return 0;
  }
  // Round up, so a timer never fires early and the loop does not spin on a 0 ms wait.
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
}

void DispatcherImpl::iterate(int timeout_ms) {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  int count = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
  updateTime();
  for (int i = 0; i < count; ++i) {
    uint64_t key = events[i].data.u64;
    if (key == kWakeKey) {
      uint64_t value;
      [[maybe_unused]] ssize_t n = ::read(wake_fd_, &value, sizeof(value));
      runPostCallbacks();
      continue;
    }
    if (FileEventImpl* event = findFileEvent(key)) {
      event->fire(events[i].events);
    }
  }
  runActivated();
  runTimers();
  runActivated();
  clearDeferredDeleteList();
}

void DispatcherImpl::runActivated() {
  // Callbacks may activate more events (a write that flushes into another connection);
  // those run in this same pass.
  for (size_t i = 0; i < activated_.size(); ++i) {
    if (FileEventImpl* event = findFileEvent(activated_[i])) {
      event->fireActivated();
    }
  }
  activated_.clear();
}

void DispatcherImpl::runTimers() {
  // Only timers due at this instant: one re-armed for 0 ms by its own callback gets a later
  // deadline and waits for the next iteration instead of starving the loop. Timers are
  // taken one at a time because a callback may destroy or re-arm any other timer.
  const auto now = std::chrono::steady_clock::now();
  while (!timers_.empty() && timers_.top().due <= now) {
    auto* timer = static_cast<TimerImpl*>(&timers_.top());
    timers_.remove(*timer);
    timer->onEntryDue(now);
  }
}

void DispatcherImpl::runPostCallbacks() {
  std::vector<PostCb> callbacks;
  {
    std::lock_guard<std::mutex> lock(post_mutex_);
    callbacks.swap(posted_);
  }
  for (auto& cb : callbacks) {
    cb();
  }
}

void DispatcherImpl::clearDeferredDeleteList() {
  // Destroying one object may defer-delete others.
  // The two lists trade places and keep their capacity: a stream deferred-deleted per
  // request costs no allocation here.
  while (!deferred_delete_.empty()) {
    deferred_delete_batch_.swap(deferred_delete_);
    deferred_delete_batch_.clear();
  }
}

}  // namespace proxy::event
