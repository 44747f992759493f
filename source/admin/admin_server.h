#pragma once

#include <Poco/Net/HTTPServer.h>
#include <Poco/ThreadPool.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "server/config/config_model.h"
#include "server/snapshot.h"

namespace proxy::admin {

// The admin API (CONTRACT.md §6) on POCO's HTTPServer: a small thread pool serves it, away
// from the workers. GET /metrics, /ready, /healthz and /route; later issues add reload and
// the dumps.
class AdminServer {
 public:
  struct Hooks {
    // True once every listener accepts, false again while draining.
    std::function<bool()> ready;
    // The snapshot traffic is routed by now (GET /route asks its router filters).
    std::function<server::SnapshotConstSharedPtr()> snapshot;
  };

  AdminServer(const server::HostPort& address,
              std::vector<std::shared_ptr<prometheus::Collectable>> collectables, Hooks hooks);
  ~AdminServer();

  void start();
  void stop();
  // The bound address ("127.0.0.1:42007"); its port is the real one when 0 was asked for.
  std::string boundAddress() const;

 private:
  class RequestHandlerFactory;

  // Its own pool, joined in stop(): POCO's default pool is a static whose destructor would
  // otherwise race the server's dispatcher thread at exit.
  Poco::ThreadPool thread_pool_{1, 4};
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::string bound_address_;
};

}  // namespace proxy::admin
