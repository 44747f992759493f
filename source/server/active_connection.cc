#include "server/active_connection.h"

#include "api/event/dispatcher.h"
#include "server/worker.h"

namespace proxy::server {

ActiveConnection::ActiveConnection(network::ConnectionPtr connection,
                                   ListenerSnapshotConstSharedPtr listener,
                                   ListenerConnectionCount& count)
    : connection_(std::move(connection)), listener_(std::move(listener)), count_(count) {
  count_.hold();
  ++count_.open;
}

ActiveConnection::~ActiveConnection() {
  // Taken by ActiveListener::onAccept.
  listener_->open_connections->fetch_sub(1, std::memory_order_relaxed);
  --count_.open;
  count_.release();
}

void ActiveConnection::drainWithin(std::chrono::milliseconds timeout) {
  if (drain_timer_ != nullptr) {
    return;
  }
  drain_timer_ = connection_->dispatcher().createTimer([this] {
    connection_->close(network::ConnectionCloseType::kNoFlush, "reload_drain_timeout");
  });
  drain_timer_->enableTimer(timeout);
  connection_->startDrain();
}

void ActiveConnection::onEvent(network::ConnectionEvent event) {
  if (event == network::ConnectionEvent::kRemoteClose ||
      event == network::ConnectionEvent::kLocalClose) {
    count_.worker.removeConnection(*this);
  }
}

}  // namespace proxy::server
