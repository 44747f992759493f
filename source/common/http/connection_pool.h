#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "api/event/dispatcher.h"
#include "api/event/timer.h"
#include "api/network/address.h"
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

// One worker's HTTP/1.1 connections to one endpoint address. A stream takes a connection
// with acquire() (the most recently released idle one, warm and likely still open, or a new
// one), uses it for one exchange and hands it back with release(), which keeps it for reuse
// only when that exchange finished cleanly. There is no limit on connections in use: each
// stream in flight holds one. Worker thread only; no locks, nothing shared with other
// workers.
class ConnectionPool {
 public:
  ConnectionPool(event::Dispatcher& dispatcher, const network::Address& address,
                 const ConnectionPoolSettings& settings);
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
  // Oldest first: acquire() takes from the back (LIFO keeps few connections warm and lets
  // the rest time out), the idle timer closes from the front.
  std::vector<Idle> idle_;
  // Tunnel connections sending their last bytes before they close; kept alive until then
  // (or until the pool goes, which closes them at once).
  std::vector<PooledConnectionPtr> closing_;
  event::TimerPtr idle_timer_;
};

// The pools of one worker, one per endpoint address, created on first use and kept for the
// worker's life (a pool without idle connections holds no socket or buffer). Keyed by
// address alone because upstreams are plain text; TLS will add the server name to the key.
class ConnectionPools {
 public:
  explicit ConnectionPools(event::Dispatcher& dispatcher, ConnectionPoolSettings settings = {});
  ~ConnectionPools();

  ConnectionPools(const ConnectionPools&) = delete;
  ConnectionPools& operator=(const ConnectionPools&) = delete;

  ConnectionPool& get(const network::Address& address);
  size_t size() const { return pools_.size(); }

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

  event::Dispatcher& dispatcher_;
  const ConnectionPoolSettings settings_;
  std::unordered_map<network::Address, std::unique_ptr<ConnectionPool>, AddressHash> pools_;
};

}  // namespace proxy::http
