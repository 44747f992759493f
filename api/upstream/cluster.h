#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/network/address.h"
#include "api/network/transport_socket.h"

namespace proxy::upstream {

// One place a cluster sends traffic, as a value: the name and port as configured, the
// address it had when the value was taken (!valid() while the name does not resolve) and
// whether it is an https:// target.
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  network::Address address;  // !valid() while the name does not resolve
  bool tls = false;          // an https:// target
};

// One endpoint of a cluster with its live state: every address its name resolves to now
// (re-resolved on the main thread), the one new connections start with, its passive health
// and its load. Hosts are shared by every worker; every method may be called from any
// thread and never blocks. The per-request reads (address(), healthy(), the load) take no
// lock (relaxed atomics; the address is read through a sequence lock); addresses() copies
// the list under a short lock and is meant for connect failures and the admin API.
class Host {
 public:
  virtual ~Host() = default;

  // As configured; immutable.
  virtual const std::string& hostname() const = 0;
  virtual uint16_t port() const = 0;
  virtual bool tls() const = 0;
  // Where a new connection starts now: the address that last connected when it is still
  // among addresses(), else the resolver's first; invalid while the name does not resolve.
  // May change between two calls (DNS refresh, a connection that succeeded on another
  // address); never a torn value.
  virtual network::Address address() const = 0;
  // Every address the name resolves to (A and AAAA), in the resolver's order; empty while it
  // does not resolve. A connect that fails on address() walks the others (AddressWalk).
  virtual std::vector<network::Address> addresses() const = 0;
  // A connection to `address` succeeded after address() had failed: new connections start
  // there while the name still resolves to it. Ignored for an address not in addresses().
  virtual void onAddressConnected(const network::Address& address) = 0;
  // The configured fields and the current address, read once.
  Endpoint endpoint() const { return Endpoint{hostname(), port(), address(), tls()}; }

  // Passive health: false while the host is ejected (after too many consecutive connect
  // failures, for the cluster's ejection time).
  virtual bool healthy() const = 0;
  // The outcome of one connection attempt to the host. A failure is a connect that failed
  // on every address of the name (refused, unreachable or timed out), or a failed TLS
  // handshake; enough of them in a row eject the host, and a success resets the count.
  virtual void onConnectSuccess() = 0;
  virtual void onConnectFailure() = 0;

  // Requests (or TCP connections) using this host now, for least_request. Each
  // onRequestStart() must be matched by exactly one onRequestEnd().
  virtual void onRequestStart() = 0;
  virtual void onRequestEnd() = 0;
  virtual uint64_t activeRequests() const = 0;
};

using HostSharedPtr = std::shared_ptr<Host>;

// Why chooseHost() found nothing.
enum class NoHostReason {
  kNone,
  kNoHealthyHost,  // every candidate is ejected, already tried, or there are none
  kUnresolved,     // every candidate that is not ejected has a name that does not resolve
};

// What chooseHost() returns: a host, or nullptr and why not.
struct HostChoice {
  HostSharedPtr host;
  NoHostReason reason = NoHostReason::kNone;
};

// A named group of hosts with a load-balancing policy. The set of hosts is fixed when the
// cluster is built; their addresses and health change while it lives. A reload that keeps
// the cluster's config may keep the cluster object, and with it that state.
class Cluster {
 public:
  virtual ~Cluster() = default;
  virtual const std::string& name() const = 0;
  virtual std::chrono::milliseconds connectTimeout() const = 0;
  // Every host, in config order.
  virtual const std::vector<HostSharedPtr>& hosts() const = 0;
  // Picks a host by the cluster's policy among those that are resolved, not ejected and not
  // in `exclude` (hosts this connection already tried). round_robin rotates per thread, so
  // one worker's picks are deterministic; least_request takes the host with the fewest
  // active requests, ties going to the next in that rotation. Any thread; cheap.
  virtual HostChoice chooseHost(std::span<const Host* const> exclude = {}) const = 0;
  // How connections to its https endpoints are secured: the cluster's TLS context, built
  // with the snapshot and shared by the workers. nullptr when no endpoint is https.
  virtual const network::TransportSocketFactoryConstSharedPtr& tlsContext() const = 0;
};

using ClusterConstSharedPtr = std::shared_ptr<const Cluster>;

// The clusters of one config snapshot.
class ClusterManager {
 public:
  virtual ~ClusterManager() = default;
  // nullptr when no cluster has that name.
  virtual ClusterConstSharedPtr get(std::string_view name) const = 0;
};

}  // namespace proxy::upstream
