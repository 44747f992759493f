#include "config.h"

#include <set>
#include <string_view>

#include "api/registry/config_error.h"
#include "ip_access.h"

namespace proxy::plugins::ip_access {
namespace {

// A plugin is built against api/ alone, so it carries its own small YAML helpers rather
// than the proxy's common/config ones. Fields are relative to `config`; the loader prefixes
// the filter's path and the file position.

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

constexpr std::string_view kKeys[] = {"allow", "deny", "default"};

void checkKeys(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) {
    fail(node, "", "expected a map with default and allow or deny, found nothing");
  }
  if (!node.IsMap()) {
    fail(node, "", "expected a map with default and allow or deny, found " + describe(node));
  }
  std::set<std::string> seen;
  for (const auto& item : node) {
    std::string key = item.first.IsScalar() ? item.first.Scalar() : "";
    bool known = false;
    for (std::string_view name : kKeys) {
      known = known || name == key;
    }
    if (!known) {
      fail(item.first, key, "unknown field, expected one of: allow, deny, default");
    }
    if (!seen.insert(key).second) {
      fail(item.first, key, "field given twice");
    }
  }
}

// Appends the ranges of list `key` (absent or null: none) to `rules`. A range may appear
// once across both lists: twice in one is a slip, in both a contradiction.
void parseList(const YAML::Node& node, const char* key, bool allow,
               std::vector<IpAccessConfig::Rule>& rules) {
  YAML::Node list = node[key];
  if (!list.IsDefined() || list.IsNull()) {
    return;
  }
  if (!list.IsSequence()) {
    fail(list, key, "expected a list of CIDR ranges, found " + describe(list));
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string field = std::string(key) + "[" + std::to_string(i) + "]";
    if (!list[i].IsScalar()) {
      fail(list[i], field,
           "expected a CIDR range such as \"10.0.0.0/8\", found " + describe(list[i]));
    }
    std::string error;
    std::optional<CidrRange> range = CidrRange::parse(list[i].Scalar(), error);
    if (!range) {
      fail(list[i], field, error);
    }
    for (const IpAccessConfig::Rule& rule : rules) {
      if (rule.range == *range) {
        fail(list[i], field,
             "expected each range once, found " + range->asString() + " already in " +
                 (rule.allow ? "allow" : "deny"));
      }
    }
    rules.push_back({*range, allow});
  }
}

}  // namespace

registry::NetworkFilterFactoryCb IpAccessFactory::createFilterFactory(
    const YAML::Node& node, registry::FactoryContext& context) {
  checkKeys(node);
  YAML::Node fallback = node["default"];
  if (!fallback.IsDefined() || fallback.IsNull()) {
    fail(node, "default",
         "required field is missing: expected allow or deny (what happens to a client no range "
         "matches)");
  }
  if (!fallback.IsScalar() || (fallback.Scalar() != "allow" && fallback.Scalar() != "deny")) {
    fail(fallback, "default", "expected allow or deny, found " + describe(fallback));
  }
  std::vector<IpAccessConfig::Rule> rules;
  parseList(node, "allow", true, rules);
  parseList(node, "deny", false, rules);
  if (rules.empty()) {
    fail(node, "", "expected at least one range in allow or deny, found none");
  }

  stats::Scope& scope = context.scope();
  const std::string help = "Connections ip_access admitted or refused, by decision.";
  stats::Counter& allowed =
      scope.counter("proxy_ip_access_connections_total", help,
                    {{"listener", context.listenerName()}, {"decision", "allowed"}});
  stats::Counter& denied =
      scope.counter("proxy_ip_access_connections_total", help,
                    {{"listener", context.listenerName()}, {"decision", "denied"}});
  auto config = std::make_shared<const IpAccessConfig>(
      std::move(rules), fallback.Scalar() == "allow", allowed, denied, context.logger());
  return [config](network::FilterManager& manager) {
    manager.addReadFilter(std::make_shared<IpAccessFilter>(config));
  };
}

}  // namespace proxy::plugins::ip_access
