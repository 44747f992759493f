#include "server/config/host_port.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace proxy::server {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

std::optional<uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), isDigit)) {
    return std::nullopt;
  }
  uint32_t port = 0;
  for (char c : text) {
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(port);
}

// A DNS name or IPv4 address. Underscores are allowed: docker compose service names use them.
bool validName(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

// Hex groups, colons, an embedded IPv4 tail, and an optional "%zone".
bool validIpv6(std::string_view host) {
  std::string_view address = host.substr(0, host.find('%'));
  if (address.find(':') == std::string_view::npos) {
    return false;
  }
  bool ok = std::all_of(address.begin(), address.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
  });
  if (address.size() < host.size()) {
    ok = ok && validName(host.substr(address.size() + 1));
  }
  return ok;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string HostPort::toString() const {
  std::string port_text = ":" + std::to_string(port);
  if (host.empty()) {
    return port_text;
  }
  if (host.find(':') != std::string::npos) {
    return "[" + host + "]" + port_text;
  }
  return host + port_text;
}

std::optional<HostPort> parseHostPort(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  auto port = parsePort(text.substr(colon + 1));
  if (!port) {
    return std::nullopt;
  }
  std::string_view host = text.substr(0, colon);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return std::nullopt;
    }
    host = host.substr(1, host.size() - 2);
    if (!validIpv6(host)) {
      return std::nullopt;
    }
  } else if (!host.empty() && !validName(host)) {
    return std::nullopt;
  }
  return HostPort{std::string(host), *port};
}

bool isAnyHost(std::string_view host) { return host.empty() || host == "0.0.0.0" || host == "::"; }

bool isLocalHost(std::string_view host) {
  std::string name = lower(host);
  if (name.ends_with('.')) {
    name.pop_back();
  }
  bool loopback_v4 = name.starts_with("127.") && std::all_of(name.begin(), name.end(), [](char c) {
                       return isDigit(c) || c == '.';
                     });
  return name == "localhost" || name.ends_with(".localhost") || loopback_v4 || name == "::1" ||
         name == "0:0:0:0:0:0:0:1" || (!name.empty() && isAnyHost(name));
}

}  // namespace proxy::server
