#pragma once

#include <string>
#include <string_view>

namespace proxy::router {

// The host name routing compares (docs/behaviour.md §2), from a Host header value or an authority:
// ASCII lowercased, the port removed ("Api.Example.com:8021" -> "api.example.com",
// "[::1]:8021" -> "[::1]"), one trailing dot removed ("example.com." -> "example.com").
// IPv6 literals keep their brackets; a bare IPv6 literal ("::1", as a config might write it)
// gets them, so both spellings compare equal. Userinfo is not expected here (the request
// target parser drops it). Config hosts go through the same function as request hosts.
std::string normalizeHost(std::string_view authority);

// Whether a normalized host is one a config may name: a DNS name or IPv4 address (letters,
// digits, '.', '-', '_', not starting or ending with '.') or a bracketed IPv6 literal.
bool isHostName(std::string_view host);

}  // namespace proxy::router
