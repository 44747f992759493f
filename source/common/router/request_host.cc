#include "common/router/request_host.h"

#include <algorithm>

namespace proxy::router {
namespace {

char lowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

}  // namespace

std::string normalizeHost(std::string_view authority) {
  std::string_view host = authority;
  bool bracket = false;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close != std::string_view::npos) {
      host = host.substr(0, close + 1);
    }
  } else {
    size_t first_colon = host.find(':');
    if (first_colon != std::string_view::npos) {
      if (host.find(':', first_colon + 1) == std::string_view::npos) {
        host = host.substr(0, first_colon);
      } else {
        // Two or more colons and no brackets: an IPv6 literal without a port.
        bracket = true;
      }
    }
  }
  if (!bracket && !host.empty() && host.back() == '.') {
    host.remove_suffix(1);
  }
  // Sized once: a short host stays in the string's inline buffer, no allocation.
  std::string out(host.size() + (bracket ? 2 : 0), '[');
  std::transform(host.begin(), host.end(), out.begin() + (bracket ? 1 : 0), lowerAscii);
  if (bracket) {
    out.back() = ']';
  }
  return out;
}

bool isHostName(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    std::string_view address = host.substr(1, host.size() - 2);
    return address.find(':') != std::string_view::npos &&
           std::all_of(address.begin(), address.end(), [](char c) {
             return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
           });
  }
  return !host.empty() && host.front() != '.' && host.back() != '.' &&
         std::all_of(host.begin(), host.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '-' ||
                  c == '_';
         });
}

}  // namespace proxy::router
