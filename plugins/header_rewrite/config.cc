#include "config.h"

#include <initializer_list>
#include <set>
#include <string_view>

#include "api/registry/config_error.h"
#include "header_rewrite.h"

namespace proxy::plugins::header_rewrite {
namespace {

// A plugin is built against api/ alone, so it carries its own small YAML helpers rather
// than the proxy's common/config ones. Errors name the field relative to `config`; the
// loader prefixes the filter's path and the file position.

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined()) {
    return "nothing";
  }
  if (node.IsNull()) {
    return "null";
  }
  if (node.IsScalar()) {
    return "\"" + node.Scalar() + "\"";
  }
  return node.IsSequence() ? "a list" : "a map";
}

[[noreturn]] void fail(const YAML::Node& node, const std::string& field,
                       const std::string& message) {
  throw registry::ConfigError(node.IsDefined() ? node.Mark() : YAML::Mark::null_mark(), field,
                              message);
}

std::string fieldPath(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "." + child;
}

std::string indexPath(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

// `node` must be a map (null counts as empty) with keys from `allowed` only, each once.
void checkKeys(const YAML::Node& node, const std::string& where,
               std::initializer_list<std::string_view> allowed) {
  if (!node.IsDefined() || node.IsNull()) {
    return;
  }
  if (!node.IsMap()) {
    fail(node, where, "expected a map, found " + describe(node));
  }
  std::set<std::string> seen;
  for (const auto& item : node) {
    std::string key = item.first.IsScalar() ? item.first.Scalar() : "";
    bool known = false;
    std::string expected;
    for (std::string_view name : allowed) {
      known = known || name == key;
      expected += expected.empty() ? "" : ", ";
      expected += name;
    }
    if (!known) {
      fail(item.first, fieldPath(where, key), "unknown field, expected one of: " + expected);
    }
    if (!seen.insert(key).second) {
      fail(item.first, fieldPath(where, key), "field given twice");
    }
  }
}

// The list under `key`, or an undefined node when absent or null.
YAML::Node optionalList(const YAML::Node& map, const std::string& where, const char* key) {
  if (!map.IsDefined() || !map.IsMap()) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  YAML::Node list = map[key];
  if (!list.IsDefined() || list.IsNull()) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  if (!list.IsSequence()) {
    fail(list, fieldPath(where, key), "expected a list, found " + describe(list));
  }
  return list;
}

std::string requiredString(const YAML::Node& map, const std::string& where, const char* key) {
  YAML::Node value = map[key];
  if (!value.IsDefined() || value.IsNull()) {
    fail(value.IsDefined() ? value : map, fieldPath(where, key), "required field is missing");
  }
  if (!value.IsScalar()) {
    fail(value, fieldPath(where, key), "expected a string, found " + describe(value));
  }
  return value.Scalar();
}

// RFC 9110 token characters.
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Field-value characters: visible ASCII, obs-text, space and tab; never CR, LF, NUL or
// another control byte, which could split or end the header on the wire.
bool isValueChar(char c) {
  auto byte = static_cast<unsigned char>(c);
  return byte == '\t' || (byte >= 0x20 && byte != 0x7f);
}

bool isSpace(char c) { return c == ' ' || c == '\t'; }

// Headers the proxy itself manages: framing (the codec writes Content-Length and
// Transfer-Encoding from the body it actually sends), connection management (hop-by-hop,
// RFC 9110 §7.6.1), Expect (the proxy answers 100-continue) and Host (routing reads it;
// `preserve_host` on a route decides what the upstream sees).
constexpr std::string_view kProtectedHeaders[] = {
    "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te",
    "trailer",        "upgrade",           "expect",     "host"};

std::string lowerCase(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return text;
}

// A header name from `node`, spelled as given (set and add write it so); rules compare names
// case-insensitively.
std::string headerName(const YAML::Node& node, const std::string& field) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    fail(node, field, "expected a header name, found " + describe(node));
  }
  const std::string& name = node.Scalar();
  for (char c : name) {
    if (!isTokenChar(c)) {
      fail(node, field,
           "expected a header name (letters, digits and !#$%&'*+-.^_`|~), found " + describe(node));
    }
  }
  const std::string lower = lowerCase(name);
  for (std::string_view protected_name : kProtectedHeaders) {
    if (lower == protected_name) {
      fail(node, field,
           "expected a header the proxy does not manage itself (not Content-Length, "
           "Transfer-Encoding, Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade, "
           "Expect or Host), found " +
               describe(node));
    }
  }
  return name;
}

// Bytes that may appear in a header value; `trimmed` also refuses leading and trailing
// whitespace, which the codec would strip from a received value.
std::string headerValue(const YAML::Node& map, const std::string& where, const char* key,
                        bool trimmed) {
  std::string value = requiredString(map, where, key);
  for (char c : value) {
    if (!isValueChar(c)) {
      fail(map[key], fieldPath(where, key),
           "expected a header value without control characters (CR, LF, NUL...), found one");
    }
  }
  if (trimmed && !value.empty() && (isSpace(value.front()) || isSpace(value.back()))) {
    fail(map[key], fieldPath(where, key),
         "expected a value without leading or trailing whitespace, found " + describe(map[key]));
  }
  return value;
}

// One direction's rules, `where` being "request" or "response".
HeaderRules parseRules(const YAML::Node& node, const std::string& where) {
  checkKeys(node, where, {"remove", "rewrite", "set", "add"});
  HeaderRules rules;
  // A missing key of a const map is an invalid node: anything but IsDefined() throws on it.
  if (!node.IsDefined() || node.IsNull()) {
    return rules;
  }
  std::set<std::string> removed;
  std::set<std::string> set_names;

  YAML::Node remove = optionalList(node, where, "remove");
  for (size_t i = 0; remove.IsDefined() && i < remove.size(); ++i) {
    const std::string field = indexPath(fieldPath(where, "remove"), i);
    std::string name = headerName(remove[i], field);
    if (!removed.insert(lowerCase(name)).second) {
      fail(remove[i], field, "expected each header once, found \"" + name + "\" twice");
    }
    rules.remove.push_back(std::move(name));
  }

  YAML::Node set = optionalList(node, where, "set");
  for (size_t i = 0; set.IsDefined() && i < set.size(); ++i) {
    const std::string item = indexPath(fieldPath(where, "set"), i);
    if (!set[i].IsMap()) {
      fail(set[i], item, "expected a map with name and value, found " + describe(set[i]));
    }
    checkKeys(set[i], item, {"name", "value"});
    requiredString(set[i], item, "name");
    std::string name = headerName(set[i]["name"], fieldPath(item, "name"));
    if (removed.count(lowerCase(name)) != 0) {
      fail(set[i]["name"], fieldPath(item, "name"),
           "expected a header that is not also removed (set replaces it already), found \"" + name +
               "\"");
    }
    if (!set_names.insert(lowerCase(name)).second) {
      fail(set[i]["name"], fieldPath(item, "name"),
           "expected each header set once, found \"" + name + "\" twice");
    }
    rules.set.push_back({std::move(name), headerValue(set[i], item, "value", true)});
  }

  YAML::Node rewrite = optionalList(node, where, "rewrite");
  for (size_t i = 0; rewrite.IsDefined() && i < rewrite.size(); ++i) {
    const std::string item = indexPath(fieldPath(where, "rewrite"), i);
    if (!rewrite[i].IsMap()) {
      fail(rewrite[i], item,
           "expected a map with name, prefix and replacement, found " + describe(rewrite[i]));
    }
    checkKeys(rewrite[i], item, {"name", "prefix", "replacement"});
    requiredString(rewrite[i], item, "name");
    std::string name = headerName(rewrite[i]["name"], fieldPath(item, "name"));
    if (removed.count(lowerCase(name)) != 0 || set_names.count(lowerCase(name)) != 0) {
      // Removal runs first and set runs after: such a rewrite could never show.
      fail(rewrite[i]["name"], fieldPath(item, "name"),
           "expected a header that is not also removed or set, found \"" + name + "\"");
    }
    std::string prefix = headerValue(rewrite[i], item, "prefix", false);
    if (prefix.empty() || isSpace(prefix.front())) {
      fail(rewrite[i]["prefix"], fieldPath(item, "prefix"),
           "expected a non-empty prefix that does not start with whitespace, found " +
               describe(rewrite[i]["prefix"]));
    }
    std::string replacement = headerValue(rewrite[i], item, "replacement", false);
    rules.rewrite.push_back({std::move(name), std::move(prefix), std::move(replacement)});
  }

  YAML::Node add = optionalList(node, where, "add");
  for (size_t i = 0; add.IsDefined() && i < add.size(); ++i) {
    const std::string item = indexPath(fieldPath(where, "add"), i);
    if (!add[i].IsMap()) {
      fail(add[i], item, "expected a map with name and value, found " + describe(add[i]));
    }
    checkKeys(add[i], item, {"name", "value"});
    requiredString(add[i], item, "name");
    std::string name = headerName(add[i]["name"], fieldPath(item, "name"));
    rules.add.push_back({std::move(name), headerValue(add[i], item, "value", true)});
  }
  return rules;
}

}  // namespace

registry::HttpFilterFactoryCb HeaderRewriteFactory::createFilterFactory(const YAML::Node& node,
                                                                        registry::FactoryContext&) {
  checkKeys(node, "", {"request", "response"});
  auto config = std::make_shared<HeaderRewriteConfig>();
  if (node.IsMap()) {
    config->request = parseRules(node["request"], "request");
    config->response = parseRules(node["response"], "response");
  }
  if (config->request.empty() && config->response.empty()) {
    fail(node, "",
         "expected at least one rule under request or response (remove, rewrite, set, add), "
         "found none");
  }
  HeaderRewriteConfigConstSharedPtr shared = std::move(config);
  return [shared](http::FilterChainFactoryCallbacks& callbacks) {
    callbacks.addStreamFilter(std::make_shared<HeaderRewriteFilter>(shared));
  };
}

}  // namespace proxy::plugins::header_rewrite
