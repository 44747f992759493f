#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "api/registry/config_error.h"

namespace proxy::config {

// Typed access to YAML fields for config loading and filter factories. Every failure throws
// registry::ConfigError naming the field (relative to the node given) and where it is, with
// what was expected and what was found.

// `text` with its control characters written as \n, \r or \xHH, so an error message that
// quotes it stays one printable line (a NUL would even end it early where it is printed).
std::string escapeControlCharacters(std::string_view text);

// "a string", "a map", ... describing what `node` is, for error messages; a string's
// control characters are escaped.
std::string describe(const YAML::Node& node);

[[noreturn]] void fail(const YAML::Node& node, const std::string& field,
                       const std::string& message);

// Requires `node` to be a map (a null node counts as an empty map) whose keys are all in
// `allowed`; `where` names the node in errors ("" for the root).
void checkKeys(const YAML::Node& node, const std::string& where,
               std::initializer_list<std::string_view> allowed);

// Joins a parent field path and a child: ("a", "b") -> "a.b", ("", "b") -> "b".
std::string fieldPath(const std::string& parent, const std::string& child);
std::string indexPath(const std::string& parent, size_t index);

std::optional<std::string> optionalString(const YAML::Node& map, const std::string& where,
                                          const char* key);
std::string requiredString(const YAML::Node& map, const std::string& where, const char* key);
std::optional<bool> optionalBool(const YAML::Node& map, const std::string& where, const char* key);
std::optional<uint64_t> optionalUint(const YAML::Node& map, const std::string& where,
                                     const char* key, uint64_t min, uint64_t max);

// Go's duration syntax: "300ms", "5s", "1m30s", "1h", "1.5s", "0"; units ns us µs ms s m h.
// Returns nullopt on a syntax error. Sub-millisecond remainders are rounded up.
std::optional<std::chrono::milliseconds> parseDuration(std::string_view text);
std::optional<std::chrono::milliseconds> optionalDuration(const YAML::Node& map,
                                                          const std::string& where,
                                                          const char* key);

// The node's position, for errors about a node that does not exist (use the parent's).
inline YAML::Mark markOf(const YAML::Node& node) {
  return node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
}

}  // namespace proxy::config
