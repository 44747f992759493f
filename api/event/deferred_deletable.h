#pragma once

#include <memory>

namespace proxy::event {

// Something a dispatcher can destroy after the event it is handling returns, so that no
// callback further up the stack runs on freed memory.
class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};

using DeferredDeletablePtr = std::unique_ptr<DeferredDeletable>;

}  // namespace proxy::event
