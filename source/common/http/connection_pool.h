#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/event/dispatcher.h"
#include "api/event/timer.h"
#include "api/network/address.h"
#include "api/network/transport_socket.h"
#include "common/http/codec.h"
#include "common/http/pooled_connection.h"

namespace proxy::http {

struct ConnectionPoolSettings {
  // An idle connection unused for this long is closed: upstreams close idle connections
  // themselves after a while (nginx after 75s), and closing first avoids most of the races
  // where a request meets a connection the upstream is closing.
  std::chrono::milliseconds idle_timeout{60000};
  // The most idle connections kept per endpoint; beyond it the oldest is closed.
  uint32_t max_idle = 256;
  // Limits on response heads.
  CodecLimits limits;
  ClientCodecFactory codec_factory = createClientCodec;
};

// One worker's HTTP/1.1 connections to one endpoint address (over TLS: to one address, with
// one cluster's TLS settings, for one server name). A stream takes a connection
// with acquire() (the most recently released idle one, warm and likely still open, or a new
// one), uses it for one exchange and hands it back with release(), which keeps it for reuse
// only when that exchange finished cleanly. There is no limit on connections in use: each
// stream in flight holds one. Worker thread only; no locks, nothing shared with other
// workers.
class ConnectionPool {
 public:
  // With `tls`, every connection is made with a transport socket from it for `host`.
  ConnectionPool(event::Dispatcher& dispatcher, const network::Address& address,
                 const ConnectionPoolSettings& settings,
                 network::TransportSocketFactoryConstSharedPtr tls = nullptr,
                 std::string host = "");
  // Closes the idle connections now. Must not run inside one of their callbacks (pools are
  // destroyed with their worker's registry, after the loop has stopped, or by tests).
  ~ConnectionPool();

  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // An idle connection if there is one (connected: no connect() needed), else a new one
  // that the caller attaches and then connects.
  PooledConnectionPtr acquire();
  // Always a new connection, for a retry that must not meet another stale idle one.
  PooledConnectionPtr create();
  // The caller is done with `connection`. Kept idle when reusable(), else closed and
  // destroyed after the current event. May be called from inside the connection's own
  // callbacks.
  void release(PooledConnectionPtr connection);

  const network::Address& address() const { return address_; }
  size_t idleCount() const { return idle_.size(); }
  const network::TransportSocketFactoryConstSharedPtr& tls() const { return tls_; }

  // A reload built an equal TLS context: new connections use it (and the old one goes away
  // with the last connection made from it). Idle connections stay.
  void setTls(network::TransportSocketFactoryConstSharedPtr tls) { tls_ = std::move(tls); }

 private:
  friend class PooledConnection;

  struct Idle {
    PooledConnectionPtr connection;
    event::MonotonicTime since;
  };

  // An idle connection closed, or the upstream sent bytes on it: drop it.
  void onIdleConnectionFailed(PooledConnection& connection, std::string_view reason);
  // Closes idle connections whose time is up; re-arms for the next one.
  void onIdleTimer();
  void discard(PooledConnectionPtr connection, std::string_view reason);
  // A connection closing after a flush (see discard()) is done: destroy it.
  void onClosedAfterFlush(PooledConnection& connection);

  event::Dispatcher& dispatcher_;
  const network::Address address_;
  const ConnectionPoolSettings settings_;
  network::TransportSocketFactoryConstSharedPtr tls_;
  const std::string host_;
  // Oldest first: acquire() takes from the back (LIFO keeps few connections warm and lets
  // the rest time out), the idle timer closes from the front.
  std::vector<Idle> idle_;
  // Tunnel connections sending their last bytes before they close; kept alive until then
  // (or until the pool goes, which closes them at once).
  std::vector<PooledConnectionPtr> closing_;
  event::TimerPtr idle_timer_;
};

// The pools of one worker, one per endpoint address, created on first use and kept for the
// worker's life (a pool without idle connections holds no socket or buffer). Plain and TLS
// connections never share a pool: a TLS pool is keyed by address, the TLS settings (their
// settingsKey(), so a reload that left them equal keeps the connections) and the host the
// certificate was verified for.
class ConnectionPools {
 public:
  explicit ConnectionPools(event::Dispatcher& dispatcher, ConnectionPoolSettings settings = {});
  ~ConnectionPools();

  ConnectionPools(const ConnectionPools&) = delete;
  ConnectionPools& operator=(const ConnectionPools&) = delete;

  // Plain TCP connections to `address`.
  ConnectionPool& get(const network::Address& address);
  // TLS connections to `address` made by `tls` for `host` (the endpoint's name).
  ConnectionPool& get(const network::Address& address,
                      const network::TransportSocketFactoryConstSharedPtr& tls,
                      std::string_view host);
  size_t size() const;

  // The pools of the worker running `dispatcher`, created on first use. They live in a
  // thread_local registry keyed by dispatcher, so each worker has its own with no locks.
  // Worker thread only.
  static ConnectionPools& forDispatcher(event::Dispatcher& dispatcher);
  // Closes and forgets the pools of `dispatcher`. A worker calls it once its loop has
  // stopped and its connections are closed, so the idle upstream connections are closed on
  // their own thread while the dispatcher still exists; the registry's thread_local
  // destructor does the same for anything left when the thread exits. Tests call it so a
  // later dispatcher at the same address finds no stale pools.
  static void releaseDispatcher(event::Dispatcher& dispatcher);

 private:
  struct AddressHash {
    size_t operator()(const network::Address& address) const;
  };

  struct TlsPool {
    std::string settings_key;
    std::string host;
    std::unique_ptr<ConnectionPool> pool;
  };

  event::Dispatcher& dispatcher_;
  const ConnectionPoolSettings settings_;
  std::unordered_map<network::Address, std::unique_ptr<ConnectionPool>, AddressHash> pools_;
  // By address, then a short list scanned without building a key string per request.
  std::unordered_map<network::Address, std::vector<TlsPool>, AddressHash> tls_pools_;
};

}  // namespace proxy::http
