#pragma once

#include <optional>
#include <string_view>

#include "server/config/config_model.h"

namespace proxy::server {

// Parses an address as written in config and INTERNAL_API_PORT: ":PORT" (every interface),
// "HOST:PORT" (a name or IPv4 address) or "[V6]:PORT", with PORT 0..65535. nullopt when the
// text is anything else, including an IPv6 address without brackets.
std::optional<HostPort> parseHostPort(std::string_view text);

// True for the hosts that reach this machine whatever it is called: "localhost" (and
// "*.localhost"), 127.0.0.0/8, "::1", and the any-addresses "0.0.0.0" and "::".
bool isLocalHost(std::string_view host);

// True for a host that binds every interface: "" (":PORT"), "0.0.0.0" or "::".
bool isAnyHost(std::string_view host);

}  // namespace proxy::server
