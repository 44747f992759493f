#pragma once

#include <cstdint>
#include <memory>

namespace proxy::registry {

// Where connections accepted under an older config find the newest config a filter of their
// listener built. The server keeps one handle per listener and key across reloads while the
// listener keeps its name and address, and stores each new snapshot's value in it when that
// snapshot is applied; a refused reload stores nothing. The HTTP connection manager reads it
// at each new request, so keep-alive connections route by the new config from their next
// request (docs/behaviour.md §7).
class ConfigHandle {
 public:
  virtual ~ConfigHandle() = default;

  // Any thread, cheap (one atomic load): changes whenever a new value is stored. Compare it
  // with the version current() last returned to know whether to fetch again.
  virtual uint64_t version() const = 0;

  // Any thread: the newest value and its version. The value is nullptr once the listener was
  // removed or its chain no longer has the filter that published under this key; the caller
  // then keeps what it has (the server drains such connections). The value's type is the
  // publishing filter's own config type.
  virtual std::shared_ptr<const void> current(uint64_t& version) const = 0;
};

using ConfigHandleSharedPtr = std::shared_ptr<const ConfigHandle>;

}  // namespace proxy::registry
