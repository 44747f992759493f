#include "header_rules.h"

#include <string_view>

namespace proxy::plugins::header_rewrite {

void HeaderRules::apply(http::HeaderMap& headers) const {
  for (const std::string& name : remove) {
    headers.remove(name);
  }
  if (!rewrite.empty()) {
    // The map has no in-place value setter, so matching entries are rebuilt: every header
    // keeps its position and the names and values that change are stored in the map's arena.
    std::vector<http::HeaderMap::Entry> entries = headers.entries();
    bool changed = false;
    for (http::HeaderMap::Entry& entry : entries) {
      for (const Rewrite& rule : rewrite) {
        if (!http::headerNameEquals(entry.name, rule.name) ||
            !entry.value.starts_with(rule.prefix)) {
          continue;
        }
        std::string value = rule.replacement;
        value.append(entry.value.substr(rule.prefix.size()));
        // A value never starts or ends with whitespace on the wire (the codec trims it), so
        // a rewrite must not produce one either.
        std::string_view trimmed = value;
        while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t')) {
          trimmed.remove_prefix(1);
        }
        while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t')) {
          trimmed.remove_suffix(1);
        }
        entry.value = headers.store(trimmed);
        changed = true;
        break;  // one rewrite per header: the first rule that matches
      }
    }
    if (changed) {
      // Every view in `entries` points into the map's arena, which outlives this rebuild.
      while (!headers.empty()) {
        headers.remove(headers.entries().front().name);
      }
      for (const http::HeaderMap::Entry& entry : entries) {
        headers.addStored(entry.name, entry.value);
      }
    }
  }
  for (const Header& header : set) {
    headers.set(header.name, header.value);
  }
  for (const Header& header : add) {
    headers.add(header.name, header.value);
  }
}

}  // namespace proxy::plugins::header_rewrite
