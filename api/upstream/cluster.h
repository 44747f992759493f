#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/network/address.h"

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

// One endpoint of a cluster with its live state: the address its name resolves to now
// (re-resolved on the main thread), its passive health and its load. Hosts are shared by
// every worker; every method may be called from any thread, never blocks and takes no lock
// (shared state is relaxed atomics; the address is read through a sequence lock).
class Host {
 public:
  virtual ~Host() = default;

  // As configured; immutable.
  virtual const std::string& hostname() const = 0;
  virtual uint16_t port() const = 0;
  virtual bool tls() const = 0;
  // Where to connect now: invalid while the name does not resolve. May change between two
  // calls when the main thread re-resolves the name; never a torn value.
  virtual network::Address address() const = 0;
  // The configured fields and the current address, read once.
  Endpoint endpoint() const { return Endpoint{hostname(), port(), address(), tls()}; }

  // Passive health: false while the host is ejected (after too many consecutive connect
  // failures, for the cluster's ejection time).
  virtual bool healthy() const = 0;
  // The outcome of one connection attempt to address(). A failure is a refused or timed out
  // connect, or a failed TLS handshake; enough of them in a row eject the host, and a
  // success resets the count.
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
