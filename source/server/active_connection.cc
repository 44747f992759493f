#include "server/active_connection.h"

#include "server/worker.h"

namespace proxy::server {

ActiveConnection::ActiveConnection(Worker& worker, network::ConnectionPtr connection,
                                   ListenerSnapshotConstSharedPtr listener,
                                   std::shared_ptr<ListenerConnectionCount> count)
    : worker_(worker),
      connection_(std::move(connection)),
      listener_(std::move(listener)),
      count_(std::move(count)) {
  ++count_->open;
}

ActiveConnection::~ActiveConnection() { --count_->open; }

void ActiveConnection::onEvent(network::ConnectionEvent event) {
  if (event == network::ConnectionEvent::kRemoteClose ||
      event == network::ConnectionEvent::kLocalClose) {
    worker_.removeConnection(*this);
  }
}

}  // namespace proxy::server
