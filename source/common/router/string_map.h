#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace proxy::router {

// Hashes std::string and std::string_view alike, so a StringMap is searched with a view of
// the request's bytes without building a std::string.
struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

template <class Value>
using StringMap = std::unordered_map<std::string, Value, StringViewHash, std::equal_to<>>;

}  // namespace proxy::router
