#include "server/json_text.h"

#include <cstdio>

namespace proxy::server {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// JSON's number grammar (RFC 8259 §6): -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?
bool isJsonNumber(std::string_view text) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < text.size() && isDigit(text[i])) {
      ++i;
    }
    return i > start;
  };
  if (i < text.size() && text[i] == '-') {
    ++i;
  }
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) {
      return false;
    }
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      ++i;
    }
    if (!digits()) {
      return false;
    }
  }
  return i == text.size();
}

}  // namespace

std::string jsonQuote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string jsonStringArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : ",") + jsonQuote(items[i]);
  }
  return out + "]";
}

std::string yamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      std::string out = "{";
      bool first = true;
      for (const auto& entry : node) {
        out +=
            (first ? "" : ",") + jsonQuote(entry.first.Scalar()) + ":" + yamlToJson(entry.second);
        first = false;
      }
      return out + "}";
    }
    case YAML::NodeType::Sequence: {
      std::string out = "[";
      for (size_t i = 0; i < node.size(); ++i) {
        out += (i == 0 ? "" : ",") + yamlToJson(node[i]);
      }
      return out + "]";
    }
    case YAML::NodeType::Scalar: {
      const std::string& value = node.Scalar();
      // Only plain scalars may be numbers or booleans; "8020" in quotes stays a string.
      if (node.Tag() == "?") {
        if (isJsonNumber(value)) {
          return value;
        }
        if (value == "true" || value == "false") {
          return value;
        }
        if (value == "null" || value == "~") {
          return "null";
        }
      }
      return jsonQuote(value);
    }
    default:
      return "null";
  }
}

}  // namespace proxy::server
