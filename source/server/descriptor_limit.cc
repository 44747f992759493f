#include "server/descriptor_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace proxy::server {
namespace {

// Listen sockets, the admin API and its threads, log files, epoll and eventfds per
// worker, the DNS resolver, idle pooled upstream connections.
constexpr uint64_t kReserve = 256;

std::string limitText(uint64_t value) {
  return value == RLIM_INFINITY ? std::string("unlimited") : std::to_string(value);
}

}  // namespace

DescriptorLimit DescriptorLimit::raise() {
  DescriptorLimit limit;
  rlimit current{};
  if (::getrlimit(RLIMIT_NOFILE, &current) != 0) {
    limit.error = std::strerror(errno);
    return limit;
  }
  limit.before = current.rlim_cur;
  limit.soft = current.rlim_cur;
  limit.hard = current.rlim_max;
  if (current.rlim_cur < current.rlim_max) {
    rlimit raised = current;
    raised.rlim_cur = current.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit.soft = raised.rlim_cur;
    } else {
      limit.error = std::strerror(errno);
    }
  }
  return limit;
}

uint64_t DescriptorLimit::needed(const Config& config) {
  uint64_t total = kReserve;
  for (const ListenerConfig& listener : config.listeners) {
    total += 2ull * listener.max_connections;
  }
  return total;
}

std::optional<std::string> DescriptorLimit::warning(const Config& config, uint64_t soft,
                                                    uint64_t hard) {
  const uint64_t need = needed(config);
  if (soft == RLIM_INFINITY || need <= soft) {
    return std::nullopt;
  }
  uint64_t connections = 0;
  for (const ListenerConfig& listener : config.listeners) {
    connections += listener.max_connections;
  }
  return "descriptor limit (RLIMIT_NOFILE) is " + limitText(soft) + " (hard " + limitText(hard) +
         "), but the listeners' max_connections (" + std::to_string(connections) +
         " in all), each with an upstream connection, may need about " + std::to_string(need) +
         ": beyond the limit new connections fail with local_resource_exhausted; raise the "
         "limit (ulimit -n, systemd LimitNOFILE=) or lower max_connections";
}

}  // namespace proxy::server
