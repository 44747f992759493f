#include "common/router/request_path.h"

namespace proxy::router {

bool hasDotSegments(std::string_view path) {
  for (size_t i = path.find("/."); i != std::string_view::npos; i = path.find("/.", i + 1)) {
    size_t end = i + 2;
    if (end < path.size() && path[end] == '.') {
      ++end;
    }
    if (end == path.size() || path[end] == '/') {
      return true;
    }
  }
  return false;
}

bool removeDotSegments(std::string_view path, std::string& out) {
  out.clear();
  out.reserve(path.size());
  // Invariant: `out` is the output buffer of RFC 3986 §5.2.4, holding whole "/segment"s, so
  // removing the last segment is truncating at the last "/". A dot-segment at the end leaves
  // a trailing "/" ("/a/b/.." -> "/a/").
  bool ends_in_dot_segment = false;
  size_t start = 0;
  while (start < path.size()) {
    // path[start] is '/'; the segment runs to the next '/'.
    size_t end = path.find('/', start + 1);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    std::string_view segment = path.substr(start + 1, end - start - 1);
    if (segment == ".") {
      ends_in_dot_segment = true;
    } else if (segment == "..") {
      if (out.empty()) {
        return false;
      }
      out.resize(out.rfind('/'));
      ends_in_dot_segment = true;
    } else {
      out += '/';
      out += segment;
      ends_in_dot_segment = false;
    }
    start = end;
  }
  if (ends_in_dot_segment || out.empty()) {
    out += '/';
  }
  return true;
}

std::string stripPrefix(std::string_view path, size_t prefix_length) {
  std::string_view rest = prefix_length < path.size() ? path.substr(prefix_length) : "";
  if (!rest.empty() && rest.front() == '/') {
    return std::string(rest);
  }
  std::string out;
  out.reserve(rest.size() + 1);
  out += '/';
  out += rest;
  return out;
}

}  // namespace proxy::router
