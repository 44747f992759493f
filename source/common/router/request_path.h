#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace proxy::router {

// Whether an absolute path ("/...", no query) has a "." or ".." segment. Cheap: routing calls
// it on every request and only copies the path when it is true.
bool hasDotSegments(std::string_view path);

// Removes "." and ".." segments from an absolute path ("/...", no query) as RFC 3986 §5.2.4 does,
// except that a ".." with no segment left to remove ("/..", "/a/../..") is an error: the
// function returns false and `out` is unspecified. Percent-encoded dots ("%2e") are not
// dot-segments; nothing is decoded, empty segments are kept ("/a//b"). `out` is replaced.
bool removeDotSegments(std::string_view path, std::string& out);

// `path` (no query) without its first `prefix_length` bytes, starting with "/":
// ("/users/42", 6) -> "/42", ("/users", 6) -> "/", ("/p/x", 3) -> "/x", ("/users2", 6) -> "/2".
std::string stripPrefix(std::string_view path, size_t prefix_length);

}  // namespace proxy::router
