#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "server/config/config_model.h"

namespace proxy::server {

// The process's descriptor limit (RLIMIT_NOFILE) against what the config may need.
struct DescriptorLimit {
  uint64_t before = 0;  // the soft limit the process started with
  uint64_t soft = 0;    // the soft limit now in force
  uint64_t hard = 0;
  std::string error;  // why raising failed, empty if it did not

  // Raises the soft limit to the hard one: a proxy holds two descriptors per proxied
  // connection, and the usual soft default (1024) is reached long before max_connections.
  static DescriptorLimit raise();

  // Descriptors `config` may need at full load: every listener's max_connections, each
  // with one upstream connection, plus a reserve for listen sockets, the admin API, logs,
  // the event loops and pooled idle connections.
  static uint64_t needed(const Config& config);

  // A warning when needed(config) does not fit in `soft`, naming both and what to change.
  static std::optional<std::string> warning(const Config& config, uint64_t soft, uint64_t hard);
};

}  // namespace proxy::server
