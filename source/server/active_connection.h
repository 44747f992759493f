#pragma once

#include <chrono>
#include <memory>

#include "api/event/deferred_deletable.h"
#include "api/event/timer.h"
#include "api/network/connection.h"
#include "server/snapshot.h"

namespace proxy::server {

class Worker;

// How many connections one worker holds for one listener, shared by that listener's
// ActiveListener and its connections (which may outlive it while draining), and the worker
// they belong to. Used on that worker's thread only, so its holders count by hand: a
// shared_ptr and a Worker& would cost every idle connection 16 more bytes. The last holder
// to let go deletes it (release()).
struct ListenerConnectionCount {
  explicit ListenerConnectionCount(Worker& owner) : worker(owner) {}
  void hold() { ++holders; }
  void release() {
    if (--holders == 0) {
      delete this;
    }
  }

  Worker& worker;
  uint32_t open = 0;     // connections open
  uint32_t holders = 0;  // the ActiveListener while it exists, and each connection
};

// A downstream connection held by its worker until it closes. It keeps the listener
// snapshot it was accepted under, so its filters' configs stay alive across reloads.
class ActiveConnection final : public network::ConnectionCallbacks,
                               public event::DeferredDeletable {
 public:
  // Holds `count` (and counts itself in it) until destroyed.
  ActiveConnection(network::ConnectionPtr connection, ListenerSnapshotConstSharedPtr listener,
                   ListenerConnectionCount& count);
  ~ActiveConnection() override;

  network::Connection& connection() { return *connection_; }
  const ListenerSnapshot& listener() const { return *listener_; }
  // A reload removed or changed what this connection depends on: tells its filters to
  // drain (HTTP closes after the request in flight) and closes it after `timeout` at the
  // latest. Later calls keep the first deadline.
  void drainWithin(std::chrono::milliseconds timeout);

  // network::ConnectionCallbacks
  void onEvent(network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override {}
  void onBelowWriteBufferLowWatermark() override {}

 private:
  friend class Worker;

  network::ConnectionPtr connection_;
  ListenerSnapshotConstSharedPtr listener_;
  ListenerConnectionCount& count_;  // says the worker too
  event::TimerPtr drain_timer_;
  // The worker's list of its connections runs through these (no list node per connection).
  ActiveConnection* prev_ = nullptr;
  ActiveConnection* next_ = nullptr;
};

}  // namespace proxy::server
