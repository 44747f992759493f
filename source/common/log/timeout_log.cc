#include "common/log/timeout_log.h"

#include <cstdint>
#include <utility>

namespace proxy::log {

std::string formatDuration(std::chrono::milliseconds duration) {
  int64_t ms = duration.count();
  if (ms <= 0) {
    return "0s";
  }
  std::string out;
  uint64_t rest = static_cast<uint64_t>(ms);
  constexpr std::pair<uint64_t, const char*> kUnits[] = {
      {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& [size, unit] : kUnits) {
    if (rest >= size) {
      out += std::to_string(rest / size) + unit;
      rest %= size;
    }
  }
  return out;
}

void logTimeout(Logger& logger, std::string_view name, std::chrono::milliseconds duration,
                std::string_view listener, const network::Address& client) {
  if (!logger.enabled(Level::kInfo)) {
    return;
  }
  std::string line = "timeout ";
  line += name;
  line += " (" + formatDuration(duration) + ") fired: listener ";
  line += listener;
  line += " client " + client.asString();
  logger.log(Level::kInfo, line);
}

}  // namespace proxy::log
