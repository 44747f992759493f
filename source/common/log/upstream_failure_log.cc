#include "common/log/upstream_failure_log.h"

#include <string>

namespace proxy::log {

void logUpstreamFailure(Logger& logger, std::string_view cause, std::string_view listener,
                        std::string_view cluster, const network::Address& endpoint,
                        std::string_view reason) {
  const bool local = cause == "local_resource_exhausted";
  const Level level = local ? Level::kError : Level::kWarn;
  if (!logger.enabled(level)) {
    return;
  }
  std::string line(cause);
  line += ": listener ";
  line += listener;
  line += " cluster ";
  line += cluster;
  line += " endpoint " + endpoint.asString() + ": ";
  line += reason.empty() ? std::string_view("unknown") : reason;
  if (local) {
    // Said here because nothing else will: the upstream is fine and stays in rotation.
    line +=
        " (the proxy could not open a socket; the endpoint is not penalized; raise the "
        "descriptor limit or lower max_connections)";
  }
  logger.log(level, line);
}

}  // namespace proxy::log
