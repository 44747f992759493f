#pragma once

#include <functional>
#include <string>

#include "server/snapshot.h"

namespace proxy::admin {

// An answer the rest of the process computes for the admin API: status, body, its type.
struct AdminReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

// Hands an AdminReply back; callable from any thread, once.
using AdminReplyCb = std::function<void(AdminReply)>;

// What the admin API asks of the server. The admin thread calls them and never waits: work
// that belongs to the main thread (reload, config dump) is posted there, and its answer comes
// back through `done`, so a slow reload never holds up a probe.
struct AdminHooks {
  // True once every listener accepts, false again while draining. Any thread.
  std::function<bool()> ready;
  // Reloads the config (README.md, "Reload"): 200 and the changes, or 400 and the errors; 503
  // once shutting down.
  std::function<void(AdminReplyCb done)> reload;
  // The running config, generation and bound addresses; YAML when `yaml`.
  std::function<void(bool yaml, AdminReplyCb done)> config_dump;
  // The snapshot traffic is routed by now (GET /route asks its router filters). Any thread.
  std::function<server::SnapshotConstSharedPtr()> snapshot;
};

}  // namespace proxy::admin
