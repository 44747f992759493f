#include "admin/route_query.h"

#include <map>
#include <optional>
#include <vector>

namespace proxy::admin {
namespace {

// A JSON string literal: quotes, backslashes and control bytes escaped. Callers pass ASCII
// (parameter values are checked) or config names.
std::string quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

RouteQueryAnswer error(std::string message) {
  return {400, "{\"error\": " + quote(message) + "}\n"};
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::optional<std::string> percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      return std::nullopt;
    }
    int high = hexValue(text[i + 1]);
    int low = hexValue(text[i + 2]);
    if (high < 0 || low < 0) {
      return std::nullopt;
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

// What a request line or Host header could carry: visible ASCII (the codec refuses the rest).
bool isVisibleAscii(std::string_view text) {
  for (char c : text) {
    if (c < 0x21 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

bool isHttpListener(const server::ListenerConfig& listener) {
  return !listener.filters.empty() && listener.filters.back().name == "http_connection_manager";
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    out += (out.empty() ? "" : ", ") + name;
  }
  return out.empty() ? "none" : out;
}

}  // namespace

RouteQueryAnswer answerRouteQuery(const server::Snapshot& snapshot, std::string_view raw_query) {
  std::map<std::string, std::string> params;
  while (!raw_query.empty()) {
    size_t amp = raw_query.find('&');
    std::string_view pair = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    size_t eq = pair.find('=');
    auto name = percentDecode(pair.substr(0, eq));
    auto value =
        percentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value) {
      return error("bad percent-encoding in \"" + std::string(pair) + "\"");
    }
    if (*name != "listener" && *name != "host" && *name != "path") {
      return error("unknown parameter \"" + *name + "\"; expected listener, host and path");
    }
    if (!params.emplace(*name, *value).second) {
      return error("parameter \"" + *name + "\" given twice");
    }
  }
  for (const char* required : {"host", "path"}) {
    if (params.count(required) == 0) {
      return error(std::string("missing parameter \"") + required +
                   "\"; usage: /route?listener=L&host=H&path=P");
    }
  }
  const std::string& host = params["host"];
  const std::string& path = params["path"];
  if (!isVisibleAscii(host) || !isVisibleAscii(path)) {
    return error("host and path must be visible ASCII, as on a request line and in Host");
  }
  if (path.empty()) {
    return error("path must not be empty; expected a request target such as /users/42");
  }

  std::vector<std::string> http_listeners;
  for (const auto& listener : snapshot.listeners) {
    if (isHttpListener(listener->config)) {
      http_listeners.push_back(listener->config.name);
    }
  }
  const server::ListenerSnapshot* chosen = nullptr;
  auto named = params.find("listener");
  if (named == params.end()) {
    if (http_listeners.size() != 1) {
      return error(
          "parameter \"listener\" is required when there is not exactly one HTTP "
          "listener; HTTP listeners: " +
          joinNames(http_listeners));
    }
    named = params.emplace("listener", http_listeners.front()).first;
  }
  for (const auto& listener : snapshot.listeners) {
    if (listener->config.name == named->second) {
      chosen = listener.get();
    }
  }
  if (chosen == nullptr || !isHttpListener(chosen->config)) {
    return error("\"" + named->second + "\" is not " +
                 (chosen == nullptr ? "a listener" : "an HTTP listener") +
                 "; HTTP listeners: " + joinNames(http_listeners));
  }

  // The router filters in chain order, as the stream runs them: the first that routes or
  // refuses the path decides; if none does, the terminal router answers 404.
  http::RouteExplanation decided;
  std::string router;
  for (const auto& [filter_name, introspector] : chosen->route_introspectors) {
    http::RouteExplanation explanation = introspector->explain(host, path);
    if (decided.host.empty()) {
      decided.host = explanation.host;
    }
    if (explanation.outcome != http::RouteExplanation::Outcome::kNoRoute) {
      decided = std::move(explanation);
      router = filter_name;
      break;
    }
  }

  std::string body = "{\"listener\": " + quote(chosen->config.name) + ", \"host\": " + quote(host) +
                     ", \"path\": " + quote(path) + ", \"normalized_host\": " + quote(decided.host);
  int status = 200;
  switch (decided.outcome) {
    case http::RouteExplanation::Outcome::kRouted: {
      const upstream::Cluster& cluster = *decided.route->cluster();
      body += ", \"matched\": true, \"outcome\": \"routed\", \"router\": " + quote(router) +
              ", \"route\": " + quote(decided.route->name()) +
              ", \"cluster\": " + quote(cluster.name()) +
              ", \"rewritten_path\": " + quote(decided.path) +
              ", \"preserve_host\": " + (decided.route->preserveHost() ? "true" : "false") +
              ", \"endpoints\": [";
      bool first = true;
      for (const auto& host : cluster.hosts()) {
        const network::Address address = host->address();
        std::string addresses;
        for (const network::Address& each : host->addresses()) {
          addresses.append(addresses.empty() ? "" : ", ").append(quote(each.asString()));
        }
        body += std::string(first ? "" : ", ") + "{\"host\": " + quote(host->hostname()) +
                ", \"port\": " + std::to_string(host->port()) +
                ", \"address\": " + (address.valid() ? quote(address.asString()) : "null") +
                ", \"addresses\": [" + addresses + "]" +
                ", \"tls\": " + (host->tls() ? "true" : "false") +
                ", \"healthy\": " + (host->healthy() ? "true" : "false") + "}";
        first = false;
      }
      body += "]";
      break;
    }
    case http::RouteExplanation::Outcome::kBadPath:
      status = 404;
      body += ", \"matched\": false, \"outcome\": \"bad_path\", \"router\": " + quote(router) +
              ", \"response_code\": 400";
      break;
    case http::RouteExplanation::Outcome::kNoRoute:
      status = 404;
      body += ", \"matched\": false, \"outcome\": \"no_route\", \"response_code\": 404";
      break;
  }
  body += "}\n";
  return {status, std::move(body)};
}

}  // namespace proxy::admin
