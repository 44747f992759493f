#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

#include "api/network/address.h"
#include "api/upstream/cluster.h"

namespace proxy::upstream {

// One attempt to connect to a host whose name has several addresses (A and AAAA): it starts
// with the host's current address() and, each time an address fails to connect (refused,
// unreachable, timed out), moves on to the next one not yet tried, in the resolver's order,
// all within one budget, the cluster's connect_timeout (as Go's dialer: each address gets
// an equal share of what is left, but at least kMinTryTime while that much is left). The
// host counts as failed only when the walk ends without a connection. Addresses are tried
// one after another, not raced (no Happy Eyeballs). A value per connection attempt; one
// thread.
class AddressWalk {
 public:
  using Clock = std::chrono::steady_clock;

  // The least time an address gets while others remain, so that a slow but working first
  // address is not cut short to leave room for the rest.
  static constexpr std::chrono::milliseconds kMinTryTime{2000};

  // Starts at `first` (the host's address() when the caller read it), with `budget` for the
  // whole walk from `now`. Reads the host's list of addresses once.
  void start(const Host& host, const network::Address& first, Clock::time_point now,
             std::chrono::milliseconds budget);

  // The address to connect to now (invalid when the host has none).
  const network::Address& current() const { return current_; }
  // How long the current address may take to connect.
  std::chrono::milliseconds tryTimeout(Clock::time_point now) const;
  // The current address failed: moves to the next untried one and returns true; false when
  // every address was tried or the budget is spent.
  bool advance(Clock::time_point now);
  // Whether the walk has moved past the address it started with.
  bool moved() const { return next_ > 0; }
  // Addresses tried so far, the current one included.
  size_t attempts() const { return current_.valid() ? next_ + 1 : 0; }

 private:
  network::Address current_;
  std::vector<network::Address> rest_;  // the others, in the resolver's order
  size_t next_ = 0;                     // index in rest_ of the next to try
  Clock::time_point deadline_;
};

}  // namespace proxy::upstream
