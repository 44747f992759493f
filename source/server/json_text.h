#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

namespace proxy::server {

// Small JSON writers for the admin API's answers (reload, config_dump).

// `text` as a JSON string literal, quotes included.
std::string jsonQuote(std::string_view text);
// ["a","b"]
std::string jsonStringArray(const std::vector<std::string>& items);
// A YAML document as JSON: maps become objects, sequences arrays, and scalars numbers,
// booleans or null when YAML would read them so (plain style), strings otherwise.
std::string yamlToJson(const YAML::Node& node);

}  // namespace proxy::server
