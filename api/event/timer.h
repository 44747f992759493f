#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace proxy::event {

using TimerCb = std::function<void()>;

// A one-shot timer owned by its creator and bound to the dispatcher that created it.
// Every method must be called on that dispatcher's thread. Destroying the timer cancels it.
class Timer {
 public:
  virtual ~Timer() = default;

  // Arms (or re-arms) the timer to fire once after `duration`.
  virtual void enableTimer(std::chrono::milliseconds duration) = 0;
  virtual void disableTimer() = 0;
  virtual bool enabled() const = 0;
};

using TimerPtr = std::unique_ptr<Timer>;

}  // namespace proxy::event
