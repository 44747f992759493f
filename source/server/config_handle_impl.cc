#include "server/config_handle_impl.h"

namespace proxy::server {

void ConfigHandleImpl::store(std::shared_ptr<const void> value) {
  std::lock_guard<std::mutex> lock(mutex_);
  value_ = std::move(value);
  version_.fetch_add(1, std::memory_order_release);
}

std::shared_ptr<const void> ConfigHandleImpl::current(uint64_t& version) const {
  std::lock_guard<std::mutex> lock(mutex_);
  version = version_.load(std::memory_order_relaxed);
  return value_;
}

}  // namespace proxy::server
