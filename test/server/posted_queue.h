#pragma once

#include <gmock/gmock.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

#include "test/mocks/event/mocks.h"

namespace proxy::server {

// Makes a MockDispatcher's post() queue its callbacks (from any thread) for the test's
// thread to run, as a real main loop would, instead of running them on the poster's thread.
class PostedQueue {
 public:
  explicit PostedQueue(event::MockDispatcher& dispatcher) {
    ON_CALL(dispatcher, post(testing::_)).WillByDefault([this](event::PostCb cb) {
      std::lock_guard<std::mutex> lock(mutex_);
      posted_.push_back(std::move(cb));
      wake_.notify_all();
    });
  }

  // Waits (at most 5 s) until `count` callbacks are queued, then runs every queued one on
  // this thread. Returns how many ran.
  size_t runAtLeast(size_t count) {
    std::vector<event::PostCb> ready;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, std::chrono::seconds(5), [&] { return posted_.size() >= count; });
      ready.swap(posted_);
    }
    for (auto& cb : ready) {
      cb();
    }
    return ready.size();
  }

  size_t queued() {
    std::lock_guard<std::mutex> lock(mutex_);
    return posted_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<event::PostCb> posted_;
};

}  // namespace proxy::server
