#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/event/dispatcher.h"
#include "api/network/address.h"
#include "common/upstream/cluster_impl.h"

namespace proxy::server {

// Runs blocking name lookups (getaddrinfo) on threads of its own and hands each result to
// its callback on the main thread's loop, so a name that times out never holds up signals,
// reloads or the admin API there. A lookup cannot be cancelled: a thread stuck in one when
// the resolver goes away finishes it and drops the result (the threads are detached and
// share nothing with the resolver but a small state block).
class AsyncResolver {
 public:
  using Callback = std::function<void(std::vector<network::Address>)>;

  // Results are posted to `dispatcher` (the main thread's); `resolver` runs on the lookup
  // threads, at most `threads` lookups at a time.
  AsyncResolver(event::Dispatcher& dispatcher, upstream::Resolver resolver, size_t threads = 4);
  // Drops every result not yet delivered; no callback runs after this. Main thread.
  ~AsyncResolver();

  AsyncResolver(const AsyncResolver&) = delete;
  AsyncResolver& operator=(const AsyncResolver&) = delete;

  // Looks `host` up; `done` runs later on the dispatcher's thread with its addresses (empty
  // when it does not resolve). Main thread.
  void resolve(const std::string& host, uint16_t port, Callback done);
  // Lookups asked for whose callback has not run yet. Main thread.
  size_t pending() const { return *pending_; }

 private:
  struct State;

  std::shared_ptr<State> state_;
  // Main-thread counters shared with the posted callbacks, which check `alive_` first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::shared_ptr<size_t> pending_ = std::make_shared<size_t>(0);
};

}  // namespace proxy::server
