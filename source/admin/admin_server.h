#pragma once

#include <chrono>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/collectable.h>

#include "admin/admin_access_policy.h"
#include "admin/admin_filter.h"
#include "admin/admin_hooks.h"
#include "common/event/dispatcher_impl.h"
#include "common/http/connection_manager_config.h"
#include "common/network/listener_impl.h"
#include "server/config/config_model.h"

namespace proxy::admin {

// The admin API (README.md, "Admin API"), served by one thread of its own running the project's
// event loop, with the HTTP connection manager and codec that serve traffic and AdminFilter
// as the terminal filter. An idle or slow client costs a descriptor and a timer, never a
// thread, so the probes always have a loop to answer them: a request head must arrive within
// kRequestHeadersTimeout, a connection idles at most kIdleTimeout, and past kMaxConnections
// the oldest connection is closed to make room for the new one.
class AdminServer {
 public:
  using Reply = AdminReply;
  using Hooks = AdminHooks;

  static constexpr uint32_t kMaxConnections = 256;
  static constexpr std::chrono::milliseconds kRequestHeadersTimeout{5000};
  static constexpr std::chrono::milliseconds kIdleTimeout{60000};
  // A reload taking longer than this is answered 504 (it still completes).
  static constexpr std::chrono::milliseconds kStreamIdleTimeout{120000};

  // Binds `address` and, when given, `read_only_address` (serving /metrics, /ready and
  // /healthz only). Throws std::runtime_error naming the address when one cannot be bound.
  AdminServer(const server::HostPort& address,
              const std::optional<server::HostPort>& read_only_address,
              std::shared_ptr<const AdminAccessPolicy> policy,
              std::vector<std::shared_ptr<prometheus::Collectable>> collectables, Hooks hooks);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Starts the admin thread; stop() closes every connection and joins it.
  void start();
  void stop();
  // The bound address ("127.0.0.1:42007"); its port is the real one when 0 was asked for.
  std::string boundAddress() const;
  // Likewise for read_only_address; empty without one.
  std::string readOnlyBoundAddress() const;
  // Any thread: requests whose headers arrive from now on are judged by `policy`.
  void setAccessPolicy(std::shared_ptr<const AdminAccessPolicy> policy);
  // Any thread: open admin connections (for tests and logs).
  uint32_t openConnections() const { return open_connections_.load(); }

 private:
  class ActiveAdminConnection;
  struct Listener {
    int fd = -1;
    std::string shown_address;
    bool read_only = false;
    http::ConnectionManagerConfigConstSharedPtr http_config;
    std::unique_ptr<network::ListenerImpl> listener;  // made on the admin thread
  };

  void bind(const server::HostPort& address, bool read_only);
  void run();
  void onAccept(Listener& listener, int fd, const network::Address& remote);
  // The connection closed: it is destroyed after this event.
  void removeConnection(ActiveAdminConnection& connection);

  event::DispatcherImpl dispatcher_{"admin"};
  std::thread thread_;
  AdminFilterContext context_;
  std::vector<Listener> listeners_;
  // Oldest first: the first to go when kMaxConnections are open.
  std::list<std::unique_ptr<ActiveAdminConnection>> connections_;
  std::atomic<uint32_t> open_connections_{0};
};

}  // namespace proxy::admin
