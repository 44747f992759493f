#include "admin/admin_server.h"

#include <pthread.h>
#include <unistd.h>

#include "api/event/deferred_deletable.h"
#include "api/network/connection.h"
#include "common/http/connection_manager_impl.h"
#include "common/network/connection_impl.h"
#include "common/network/socket_util.h"

namespace proxy::admin {

// One admin connection, owned by the server until it closes.
class AdminServer::ActiveAdminConnection final : public network::ConnectionCallbacks,
                                                 public event::DeferredDeletable {
 public:
  ActiveAdminConnection(AdminServer& server, network::ConnectionPtr connection)
      : server_(server), connection_(std::move(connection)) {}

  network::Connection& connection() { return *connection_; }

  // network::ConnectionCallbacks
  void onEvent(network::ConnectionEvent event) override {
    if (event == network::ConnectionEvent::kRemoteClose ||
        event == network::ConnectionEvent::kLocalClose) {
      server_.removeConnection(*this);
    }
  }
  void onAboveWriteBufferHighWatermark() override {}
  void onBelowWriteBufferLowWatermark() override {}

  std::list<std::unique_ptr<ActiveAdminConnection>>::iterator position;
  bool listed = false;

 private:
  AdminServer& server_;
  network::ConnectionPtr connection_;
};

AdminServer::AdminServer(const server::HostPort& address,
                         const std::optional<server::HostPort>& read_only_address,
                         std::shared_ptr<const AdminAccessPolicy> policy,
                         std::vector<std::shared_ptr<prometheus::Collectable>> collectables,
                         Hooks hooks) {
  context_.policy = std::move(policy);
  context_.collectables = std::move(collectables);
  context_.hooks = std::move(hooks);
  listeners_.reserve(2);
  try {
    bind(address, false);
    if (read_only_address) {
      bind(*read_only_address, true);
    }
  } catch (...) {
    for (Listener& listener : listeners_) {
      ::close(listener.fd);
    }
    throw;
  }
}

AdminServer::~AdminServer() {
  stop();
  for (Listener& listener : listeners_) {
    ::close(listener.fd);
  }
}

void AdminServer::bind(const server::HostPort& address, bool read_only) {
  // A small backlog: the admin API serves few clients, and beyond it the kernel refuses.
  network::ListenSocket socket = network::createListenSocket(address.host, address.port, 128);
  Listener listener;
  listener.fd = socket.fd;
  listener.shown_address = server::HostPort{address.host, socket.address.port()}.toString();
  listener.read_only = read_only;
  auto config = std::make_shared<http::ConnectionManagerConfig>();
  config->filter_factories.push_back([this, read_only](http::FilterChainFactoryCallbacks& chain) {
    chain.addStreamDecoderFilter(std::make_shared<AdminFilter>(context_, read_only));
  });
  // Small heads (a token fits), and deadlines that free a slow client's connection.
  config->limits.max_head_bytes = 16 * 1024;
  config->limits.max_headers = 64;
  config->limits.max_uri_bytes = 4 * 1024;
  config->request_headers_timeout = kRequestHeadersTimeout;
  config->idle_timeout = kIdleTimeout;
  config->stream_idle_timeout = kStreamIdleTimeout;
  config->listener_name = read_only ? "admin_read_only" : "admin";
  listener.http_config = std::move(config);
  listeners_.push_back(std::move(listener));
}

void AdminServer::start() {
  thread_ = std::thread([this] { run(); });
}

void AdminServer::run() {
  pthread_setname_np(pthread_self(), "admin");
  // Made here: a dispatcher's file events belong to its own thread.
  for (Listener& listener : listeners_) {
    listener.listener = std::make_unique<network::ListenerImpl>(
        dispatcher_, listener.fd, [this, &listener](int fd, const network::Address& remote) {
          onAccept(listener, fd, remote);
        });
  }
  dispatcher_.run();
  for (Listener& listener : listeners_) {
    listener.listener.reset();
  }
  // Closing removes entries: walk a copy.
  std::vector<network::Connection*> open;
  for (auto& active : connections_) {
    open.push_back(&active->connection());
  }
  for (network::Connection* connection : open) {
    connection->close(network::ConnectionCloseType::kNoFlush, "admin_stopped");
  }
  dispatcher_.runOnce(std::chrono::milliseconds(0));
}

void AdminServer::stop() {
  if (thread_.joinable()) {
    dispatcher_.exit();
    thread_.join();
  }
}

std::string AdminServer::boundAddress() const { return listeners_.front().shown_address; }

std::string AdminServer::readOnlyBoundAddress() const {
  return listeners_.size() > 1 ? listeners_[1].shown_address : "";
}

void AdminServer::setAccessPolicy(std::shared_ptr<const AdminAccessPolicy> policy) {
  dispatcher_.post([this, policy = std::move(policy)] { context_.policy = policy; });
}

void AdminServer::onAccept(Listener& listener, int fd, const network::Address& remote) {
  if (connections_.size() >= kMaxConnections) {
    // Full: the oldest connection goes, so that clients holding connections open can never
    // lock out a new one (a probe). Whatever it was doing (a reload applies anyway) ends.
    connections_.front()->connection().close(network::ConnectionCloseType::kNoFlush,
                                             "admin_connection_limit");
  }
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  network::Address local_address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
    local_address = network::Address(reinterpret_cast<sockaddr*>(&local), len);
  }
  auto connection =
      std::make_unique<network::ConnectionImpl>(dispatcher_, fd, remote, local_address, true);
  connection->addReadFilter(std::make_shared<http::ConnectionManagerImpl>(listener.http_config));
  network::Connection& ref = *connection;
  auto active = std::make_unique<ActiveAdminConnection>(*this, std::move(connection));
  ref.addConnectionCallbacks(*active);
  connections_.push_back(std::move(active));
  connections_.back()->position = std::prev(connections_.end());
  connections_.back()->listed = true;
  open_connections_.store(static_cast<uint32_t>(connections_.size()));
  ref.initializeReadFilters();
}

void AdminServer::removeConnection(ActiveAdminConnection& active) {
  if (!active.listed) {
    return;
  }
  active.listed = false;
  std::unique_ptr<ActiveAdminConnection> owned = std::move(*active.position);
  connections_.erase(active.position);
  open_connections_.store(static_cast<uint32_t>(connections_.size()));
  // Mid-callback: destroyed, with its filters, after this event.
  dispatcher_.deferredDelete(std::move(owned));
}

}  // namespace proxy::admin
