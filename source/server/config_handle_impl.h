#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "api/registry/config_handle.h"

namespace proxy::server {

// The server's ConfigHandle: written by the main thread when a snapshot is applied, read by
// workers at each new request. Readers only load the version until it changes; the mutex is
// taken once per connection and reload, not per request.
class ConfigHandleImpl final : public registry::ConfigHandle {
 public:
  // Main thread: stores the applied snapshot's value (nullptr: no longer published).
  void store(std::shared_ptr<const void> value);

  // registry::ConfigHandle
  uint64_t version() const override { return version_.load(std::memory_order_acquire); }
  std::shared_ptr<const void> current(uint64_t& version) const override;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const void> value_;
  std::atomic<uint64_t> version_{0};
};

using ConfigHandleImplSharedPtr = std::shared_ptr<ConfigHandleImpl>;

}  // namespace proxy::server
