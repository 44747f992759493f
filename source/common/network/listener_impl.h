#pragma once

#include <functional>

#include "api/event/dispatcher.h"
#include "api/network/address.h"

namespace proxy::network {

// Accepts connections from a listen socket shared by every worker: each worker's
// dispatcher watches it level-triggered and exclusive of the others' wake-ups, taking a
// bounded batch per event so that one busy listener does not starve the loop.
class ListenerImpl {
 public:
  // Called with a new non-blocking socket that the callee now owns.
  using AcceptCb = std::function<void(int fd, const Address& remote)>;

  ListenerImpl(event::Dispatcher& dispatcher, int listen_fd, AcceptCb on_accept);
  ~ListenerImpl();

  // Stops accepting (the socket stays open; its owner closes it).
  void disable();
  void enable();

 private:
  void onReadable();

  event::Dispatcher& dispatcher_;
  const int listen_fd_;
  AcceptCb on_accept_;
  event::FileEventPtr file_event_;
  event::TimerPtr backoff_timer_;
  bool enabled_ = true;
};

}  // namespace proxy::network
