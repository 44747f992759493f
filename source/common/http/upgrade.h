#pragma once

#include <optional>
#include <string_view>

#include "api/http/header_map.h"

namespace proxy::http {

// The one rule that decides whether a request may switch protocols through the proxy (RFC
// 9110 §7.8), shared by both codecs and the router so they always agree. A request is
// tunnelable when it is HTTP/1.1, lists "upgrade" in Connection, has an Upgrade header,
// has no body (a body would have to be framed before the switch) and does not ask for
// "h2c": the proxy speaks HTTP/1.1 only, so an h2c upgrade is forwarded as a plain request
// with its upgrade headers removed, and the upstream answers it in HTTP/1.1. Anything else
// carrying Upgrade is a plain request too.
class UpgradeRequest {
 public:
  // The Upgrade header's value when `headers` (with `end_stream` saying there is no body)
  // are a tunnelable upgrade request; nullopt otherwise.
  static std::optional<std::string_view> protocol(const RequestHeaderMap& headers, bool end_stream);
  static bool tunnelable(const RequestHeaderMap& headers, bool end_stream) {
    return protocol(headers, end_stream).has_value();
  }
};

}  // namespace proxy::http
