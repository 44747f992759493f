#include "common/http/upgrade.h"

#include "common/http/message_writer.h"

namespace proxy::http {

std::optional<std::string_view> UpgradeRequest::protocol(const RequestHeaderMap& headers,
                                                         bool end_stream) {
  if (!end_stream || headers.version() != 11) {
    // HTTP/1.0: a server MUST ignore Upgrade (RFC 9110 §7.8).
    return std::nullopt;
  }
  bool connection_upgrade = false;
  std::optional<std::string_view> upgrade;
  for (const HeaderMap::Entry& entry : headers.entries()) {
    if (headerNameEquals(entry.name, "connection")) {
      connection_upgrade = connection_upgrade || MessageWriter::hasToken(entry.value, "upgrade");
    } else if (headerNameEquals(entry.name, "upgrade")) {
      if (upgrade) {
        return std::nullopt;  // two Upgrade lines: not worth guessing which one counts
      }
      upgrade = entry.value;
    }
  }
  if (!connection_upgrade || !upgrade || upgrade->empty() ||
      MessageWriter::hasToken(*upgrade, "h2c")) {
    return std::nullopt;
  }
  return upgrade;
}

}  // namespace proxy::http
