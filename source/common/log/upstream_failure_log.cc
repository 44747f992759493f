#include "common/log/upstream_failure_log.h"

#include <string>

namespace proxy::log {

void logUpstreamFailure(Logger& logger, std::string_view cause, std::string_view listener,
                        std::string_view cluster, const network::Address& endpoint,
                        std::string_view reason) {
  if (!logger.enabled(Level::kWarn)) {
    return;
  }
  std::string line(cause);
  line += ": listener ";
  line += listener;
  line += " cluster ";
  line += cluster;
  line += " endpoint " + endpoint.asString() + ": ";
  line += reason.empty() ? std::string_view("unknown") : reason;
  logger.log(Level::kWarn, line);
}

}  // namespace proxy::log
