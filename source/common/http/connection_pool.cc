#include "common/http/connection_pool.h"

#include <cassert>
#include <string_view>
#include <utility>

namespace proxy::http {
namespace {

// Each thread's pools, by dispatcher. A worker runs one dispatcher, so this holds one entry
// on a worker; tests on the main thread may create several dispatchers in turn.
struct ThreadPools {
  std::vector<std::pair<event::Dispatcher*, std::unique_ptr<ConnectionPools>>> entries;
};

thread_local ThreadPools thread_pools;

}  // namespace

ConnectionPool::ConnectionPool(event::Dispatcher& dispatcher, const network::Address& address,
                               const ConnectionPoolSettings& settings,
                               network::TransportSocketFactoryConstSharedPtr tls, std::string host)
    : dispatcher_(dispatcher),
      address_(address),
      settings_(settings),
      tls_(std::move(tls)),
      host_(std::move(host)) {}

ConnectionPool::~ConnectionPool() {
  // Taken out first: closing raises events, which must not find the list half destroyed.
  std::vector<Idle> idle = std::move(idle_);
  idle_.clear();
  for (Idle& entry : idle) {
    entry.connection->close("pool_closed");
  }
  // Destroyed now, closing what they still had to send.
  std::vector<PooledConnectionPtr> closing = std::move(closing_);
  closing_.clear();
}

PooledConnectionPtr ConnectionPool::acquire() {
  while (!idle_.empty()) {
    PooledConnectionPtr connection = std::move(idle_.back().connection);
    idle_.pop_back();
    connection->clearIdlePool();
    if (connection->connection().state() == network::ConnectionState::kOpen) {
      return connection;
    }
    // Closes are reported and remove the connection at once, so this is only a safeguard.
    discard(std::move(connection), "closed");
  }
  return create();
}

PooledConnectionPtr ConnectionPool::create() {
  network::TransportSocketPtr transport =
      tls_ != nullptr ? tls_->createTransportSocket(host_) : nullptr;
  return std::make_unique<PooledConnection>(
      dispatcher_, dispatcher_.createClientConnection(address_, std::move(transport)),
      settings_.codec_factory, settings_.limits);
}

void ConnectionPool::release(PooledConnectionPtr connection) {
  connection->detach();
  if (!connection->reusable() || settings_.max_idle == 0) {
    // Never a half-used connection: the upstream may still send or expect bytes.
    const char* reason =
        connection->exchangeComplete() ? "connection_close" : "exchange_unfinished";
    discard(std::move(connection), reason);
    return;
  }
  if (idle_.size() >= settings_.max_idle) {
    // The oldest is the likeliest to be closed by the upstream soon anyway.
    PooledConnectionPtr oldest = std::move(idle_.front().connection);
    idle_.erase(idle_.begin());
    discard(std::move(oldest), "pool_full");
  }
  connection->resetForReuse(*this);
  idle_.push_back(Idle{std::move(connection), dispatcher_.approximateMonotonicTime()});
  if (idle_timer_ == nullptr) {
    idle_timer_ = dispatcher_.createTimer([this] { onIdleTimer(); });
  }
  // Armed whenever a connection is idle; when it fires it re-arms for the oldest left.
  if (!idle_timer_->enabled()) {
    idle_timer_->enableTimer(settings_.idle_timeout);
  }
}

void ConnectionPool::onIdleConnectionFailed(PooledConnection& connection, std::string_view reason) {
  for (auto it = idle_.begin(); it != idle_.end(); ++it) {
    if (it->connection.get() == &connection) {
      PooledConnectionPtr owned = std::move(it->connection);
      idle_.erase(it);
      discard(std::move(owned), reason);
      return;
    }
  }
}

void ConnectionPool::onClosedAfterFlush(PooledConnection& connection) {
  for (auto it = closing_.begin(); it != closing_.end(); ++it) {
    if (it->get() == &connection) {
      PooledConnectionPtr owned = std::move(*it);
      closing_.erase(it);
      // Reported from inside its own callbacks.
      dispatcher_.deferredDelete(std::move(owned));
      return;
    }
  }
}

void ConnectionPool::onIdleTimer() {
  const event::MonotonicTime now = dispatcher_.approximateMonotonicTime();
  while (!idle_.empty() && now - idle_.front().since >= settings_.idle_timeout) {
    PooledConnectionPtr expired = std::move(idle_.front().connection);
    idle_.erase(idle_.begin());
    discard(std::move(expired), "idle_timeout");
  }
  if (!idle_.empty()) {
    const auto left = idle_.front().since + settings_.idle_timeout - now;
    idle_timer_->enableTimer(std::chrono::ceil<std::chrono::milliseconds>(left));
  }
}

void ConnectionPool::discard(PooledConnectionPtr connection, std::string_view reason) {
  if (connection->flushBeforeClose()) {
    // A tunnel's last bytes and FIN may still be queued: closing now would drop them.
    PooledConnection& closing = *connection;
    closing_.push_back(std::move(connection));
    closing.closeAfterFlush(*this, reason);
    return;
  }
  connection->close(reason);
  // It may be on the call stack (released from inside its own callbacks).
  dispatcher_.deferredDelete(std::move(connection));
}

ConnectionPools::ConnectionPools(event::Dispatcher& dispatcher, ConnectionPoolSettings settings)
    : dispatcher_(dispatcher), settings_(std::move(settings)) {}

ConnectionPools::~ConnectionPools() = default;

size_t ConnectionPools::AddressHash::operator()(const network::Address& address) const {
  // The bytes operator== compares.
  return std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(address.sockAddr()), address.sockAddrLen()));
}

ConnectionPool& ConnectionPools::get(const network::Address& address) {
  auto it = pools_.find(address);
  if (it == pools_.end()) {
    it = pools_.emplace(address, std::make_unique<ConnectionPool>(dispatcher_, address, settings_))
             .first;
  }
  return *it->second;
}

ConnectionPool& ConnectionPools::get(const network::Address& address,
                                     const network::TransportSocketFactoryConstSharedPtr& tls,
                                     std::string_view host) {
  std::vector<TlsPool>& pools = tls_pools_[address];
  const std::string& key = tls->settingsKey();
  for (TlsPool& entry : pools) {
    if (entry.host == host && entry.settings_key == key) {
      if (entry.pool->tls() != tls) {
        entry.pool->setTls(tls);
      }
      return *entry.pool;
    }
  }
  pools.push_back(TlsPool{
      key, std::string(host),
      std::make_unique<ConnectionPool>(dispatcher_, address, settings_, tls, std::string(host))});
  return *pools.back().pool;
}

size_t ConnectionPools::size() const {
  size_t count = pools_.size();
  for (const auto& [address, pools] : tls_pools_) {
    count += pools.size();
  }
  return count;
}

ConnectionPools& ConnectionPools::forDispatcher(event::Dispatcher& dispatcher) {
  assert(dispatcher.isThreadSafe());
  for (auto& [owner, pools] : thread_pools.entries) {
    if (owner == &dispatcher) {
      return *pools;
    }
  }
  thread_pools.entries.emplace_back(&dispatcher, std::make_unique<ConnectionPools>(dispatcher));
  return *thread_pools.entries.back().second;
}

void ConnectionPools::releaseDispatcher(event::Dispatcher& dispatcher) {
  auto& entries = thread_pools.entries;
  for (auto it = entries.begin(); it != entries.end(); ++it) {
    if (it->first == &dispatcher) {
      std::unique_ptr<ConnectionPools> pools = std::move(it->second);
      entries.erase(it);
      return;  // `pools` closes its idle connections as it goes
    }
  }
}

}  // namespace proxy::http
