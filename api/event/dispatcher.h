#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "api/event/deferred_deletable.h"
#include "api/event/file_event.h"
#include "api/event/timer.h"
#include "api/network/connection.h"
#include "api/network/transport_socket.h"

namespace proxy::event {

using PostCb = std::function<void()>;
using MonotonicTime = std::chrono::steady_clock::time_point;

// One event loop, run by one thread (a worker or a test). Everything a connection or filter
// does happens in callbacks from its dispatcher; only post() may be called from other threads.
class Dispatcher {
 public:
  virtual ~Dispatcher() = default;

  // A name for logs ("worker_0").
  virtual const std::string& name() const = 0;

  // Watches `fd` for `events` (FileReadyType bits).
  virtual FileEventPtr createFileEvent(int fd, FileReadyCb cb, FileTriggerType trigger,
                                       uint32_t events) = 0;

  virtual TimerPtr createTimer(TimerCb cb) = 0;

  // A non-blocking outbound connection to `address`, not yet connecting: call connect().
  // Its bytes go through `transport_socket` (TLS, made by a TransportSocketFactory), or
  // plain TCP when it is null.
  virtual network::ClientConnectionPtr createClientConnection(
      const network::Address& address, network::TransportSocketPtr transport_socket) = 0;
  // Plain TCP.
  network::ClientConnectionPtr createClientConnection(const network::Address& address) {
    return createClientConnection(address, nullptr);
  }

  // Destroys `object` after the current event returns.
  virtual void deferredDelete(DeferredDeletablePtr&& object) = 0;

  // Runs `cb` on this dispatcher's thread soon. Safe from any thread.
  virtual void post(PostCb cb) = 0;

  // True when called on the thread running this dispatcher.
  virtual bool isThreadSafe() const = 0;

  // The loop's cached monotonic time, refreshed once per iteration.
  virtual MonotonicTime approximateMonotonicTime() const = 0;

  // Runs the loop until exit() is called.
  virtual void run() = 0;
  // Makes run() return after the current iteration. Safe from any thread.
  virtual void exit() = 0;
};

using DispatcherPtr = std::unique_ptr<Dispatcher>;

}  // namespace proxy::event
