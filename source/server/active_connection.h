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
// ActiveListener and its connections (which may outlive it while draining).
struct ListenerConnectionCount {
  uint32_t open = 0;
};

// A downstream connection held by its worker until it closes. It keeps the listener
// snapshot it was accepted under, so its filters' configs stay alive across reloads.
class ActiveConnection final : public network::ConnectionCallbacks,
                               public event::DeferredDeletable {
 public:
  ActiveConnection(Worker& worker, network::ConnectionPtr connection,
                   ListenerSnapshotConstSharedPtr listener,
                   std::shared_ptr<ListenerConnectionCount> count);
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

  Worker& worker_;
  network::ConnectionPtr connection_;
  ListenerSnapshotConstSharedPtr listener_;
  std::shared_ptr<ListenerConnectionCount> count_;
  event::TimerPtr drain_timer_;
  // The worker's list of its connections runs through these (no list node per connection).
  ActiveConnection* prev_ = nullptr;
  ActiveConnection* next_ = nullptr;
};

}  // namespace proxy::server
