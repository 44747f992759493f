#include "common/config/yaml_util.h"

#include <limits>
#include <set>

namespace proxy::config {

std::string escapeControlCharacters(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined()) {
    return "nothing";
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "\"" + escapeControlCharacters(node.Scalar()) + "\"";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

void fail(const YAML::Node& node, const std::string& field, const std::string& message) {
  throw registry::ConfigError(markOf(node), field, message);
}

std::string fieldPath(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "." + child;
}

std::string indexPath(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

void checkKeys(const YAML::Node& node, const std::string& where,
               std::initializer_list<std::string_view> allowed) {
  if (!node.IsDefined() || node.IsNull()) {
    return;
  }
  if (!node.IsMap()) {
    fail(node, where.empty() ? "(top level)" : where, "expected a map, found " + describe(node));
  }
  std::set<std::string> seen;
  for (const auto& item : node) {
    std::string key = item.first.IsScalar() ? item.first.Scalar() : "";
    bool known = false;
    for (auto name : allowed) {
      known = known || name == key;
    }
    if (!known) {
      std::string expected;
      for (auto name : allowed) {
        expected += expected.empty() ? "" : ", ";
        expected += name;
      }
      fail(item.first, fieldPath(where, key), "unknown field, expected one of: " + expected);
    }
    if (!seen.insert(key).second) {
      fail(item.first, fieldPath(where, key), "field given twice");
    }
  }
}

std::optional<std::string> optionalString(const YAML::Node& map, const std::string& where,
                                          const char* key) {
  YAML::Node value = map[key];
  if (!value.IsDefined() || value.IsNull()) {
    return std::nullopt;
  }
  if (!value.IsScalar()) {
    fail(value, fieldPath(where, key), "expected a string, found " + describe(value));
  }
  return value.Scalar();
}

std::string requiredString(const YAML::Node& map, const std::string& where, const char* key) {
  auto value = optionalString(map, where, key);
  if (!value || value->empty()) {
    fail(map, fieldPath(where, key), "expected a non-empty string, found " + describe(map[key]));
  }
  return *value;
}

std::optional<bool> optionalBool(const YAML::Node& map, const std::string& where, const char* key) {
  YAML::Node value = map[key];
  if (!value.IsDefined() || value.IsNull()) {
    return std::nullopt;
  }
  const std::string& text = value.IsScalar() ? value.Scalar() : "";
  if (text == "true") {
    return true;
  }
  if (text == "false") {
    return false;
  }
  fail(value, fieldPath(where, key), "expected true or false, found " + describe(value));
}

std::optional<uint64_t> optionalUint(const YAML::Node& map, const std::string& where,
                                     const char* key, uint64_t min, uint64_t max) {
  YAML::Node value = map[key];
  if (!value.IsDefined() || value.IsNull()) {
    return std::nullopt;
  }
  const std::string text = value.IsScalar() ? value.Scalar() : "";
  uint64_t result = 0;
  bool ok = !text.empty() && text.size() <= 19;
  for (char c : text) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) {
      result = result * 10 + static_cast<uint64_t>(c - '0');
    }
  }
  if (!ok || result < min || result > max) {
    fail(value, fieldPath(where, key),
         "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
             ", found " + describe(value));
  }
  return result;
}

std::optional<std::chrono::milliseconds> parseDuration(std::string_view text) {
  if (text == "0") {
    return std::chrono::milliseconds(0);
  }
  if (text.empty()) {
    return std::nullopt;
  }
  // Whole nanoseconds in integers, as Go does: with doubles "0.067s" came out as 68ms.
  using Nanos = unsigned __int128;
  constexpr Nanos kMaxNanos =
      static_cast<Nanos>(std::numeric_limits<int32_t>::max()) * 1000 * 1000000;
  auto isDigit = [](char c) { return c >= '0' && c <= '9'; };
  Nanos total_ns = 0;
  size_t i = 0;
  while (i < text.size()) {
    Nanos whole = 0;
    Nanos fraction = 0;
    Nanos fraction_scale = 1;
    size_t digits = 0;
    for (; i < text.size() && isDigit(text[i]); ++i, ++digits) {
      whole = whole * 10 + static_cast<Nanos>(text[i] - '0');
      if (whole > kMaxNanos) {
        return std::nullopt;
      }
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      for (; i < text.size() && isDigit(text[i]); ++i, ++digits) {
        // Digits past 10^-18 of a unit are below a nanosecond: ignored.
        if (fraction_scale < 1000000000000000000ULL) {
          fraction = fraction * 10 + static_cast<Nanos>(text[i] - '0');
          fraction_scale *= 10;
        }
      }
    }
    if (digits == 0) {
      return std::nullopt;
    }
    size_t unit_start = i;
    while (i < text.size() && !isDigit(text[i]) && text[i] != '.') {
      ++i;
    }
    std::string_view unit = text.substr(unit_start, i - unit_start);
    Nanos scale = 0;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      scale = 1000;
    } else if (unit == "ms") {
      scale = 1000000;
    } else if (unit == "s") {
      scale = 1000000000;
    } else if (unit == "m") {
      scale = 60ULL * 1000000000;
    } else if (unit == "h") {
      scale = 3600ULL * 1000000000;
    } else {
      return std::nullopt;
    }
    total_ns += whole * scale + fraction * scale / fraction_scale;
    if (total_ns > kMaxNanos) {
      return std::nullopt;
    }
  }
  return std::chrono::milliseconds(static_cast<int64_t>((total_ns + 999999) / 1000000));
}

std::optional<std::chrono::milliseconds> optionalDuration(const YAML::Node& map,
                                                          const std::string& where,
                                                          const char* key) {
  auto text = optionalString(map, where, key);
  if (!text) {
    return std::nullopt;
  }
  auto duration = parseDuration(*text);
  if (!duration) {
    fail(map[key], fieldPath(where, key),
         "expected a duration such as \"5s\", \"250ms\" or \"1m30s\", found " + describe(map[key]));
  }
  return duration;
}

}  // namespace proxy::config
