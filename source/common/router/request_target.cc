#include "common/router/request_target.h"

namespace proxy::router {
namespace {

// Length of "http://" or "https://" at the start of `target`, ignoring case; 0 if neither.
size_t schemeLength(std::string_view target) {
  auto starts = [target](std::string_view scheme) {
    if (target.size() < scheme.size()) {
      return false;
    }
    for (size_t i = 0; i < scheme.size(); ++i) {
      char c = target[i];
      if (c >= 'A' && c <= 'Z') {
        c = static_cast<char>(c + ('a' - 'A'));
      }
      if (c != scheme[i]) {
        return false;
      }
    }
    return true;
  };
  if (starts("http://")) {
    return 7;
  }
  if (starts("https://")) {
    return 8;
  }
  return 0;
}

}  // namespace

RequestTarget parseRequestTarget(std::string_view target) {
  RequestTarget out;
  std::string_view rest = target;
  if (!target.empty() && target.front() == '/') {
    out.form = RequestTarget::Form::kOrigin;
  } else if (size_t scheme = schemeLength(target); scheme != 0) {
    out.form = RequestTarget::Form::kAbsolute;
    std::string_view after = target.substr(scheme);
    size_t end = after.find_first_of("/?#");
    std::string_view authority = after.substr(0, end);
    size_t at = authority.rfind('@');
    out.authority = at == std::string_view::npos ? authority : authority.substr(at + 1);
    rest = end == std::string_view::npos ? std::string_view() : after.substr(end);
    if (rest.empty() || rest.front() != '/') {
      // "http://host" and "http://host?q" have the empty path, which is "/" (RFC 9112 §3.2.4).
      size_t query = rest.find('?');
      out.path = "/";
      out.query = query == std::string_view::npos ? std::string_view() : rest.substr(query);
      return out;
    }
  } else {
    return out;
  }
  size_t query = rest.find('?');
  out.path = rest.substr(0, query);
  out.query = query == std::string_view::npos ? std::string_view() : rest.substr(query);
  return out;
}

}  // namespace proxy::router
