#include "filters/network/http_connection_manager/config.h"

#include "api/registry/registry.h"
#include "common/config/yaml_util.h"
#include "common/http/connection_manager_config.h"
#include "common/http/connection_manager_impl.h"
#include "common/stats/filter_counters.h"

namespace proxy::filters::http_connection_manager {
namespace {

// The context HTTP filter factories see: the listener's, but with the HTTP chain's names.
class HttpFilterFactoryContext final : public registry::FactoryContext {
 public:
  HttpFilterFactoryContext(registry::FactoryContext& parent, std::vector<std::string> names)
      : parent_(parent), names_(std::move(names)) {}

  const upstream::ClusterManager& clusterManager() const override {
    return parent_.clusterManager();
  }
  upstream::ClusterConstSharedPtr targetCluster(const std::string& name,
                                                const upstream::Endpoint& endpoint) override {
    return parent_.targetCluster(name, endpoint);
  }
  stats::Scope& scope() override { return parent_.scope(); }
  const std::string& listenerName() const override { return parent_.listenerName(); }
  const std::vector<std::string>& chainFilterNames() const override { return names_; }
  log::Logger& logger() override { return parent_.logger(); }
  access_log::AccessLogSinkSharedPtr accessLog() override { return parent_.accessLog(); }
  void addRouteIntrospector(const std::string& filter_name,
                            http::RouteIntrospectorConstSharedPtr introspector) override {
    parent_.addRouteIntrospector(filter_name, std::move(introspector));
  }

 private:
  registry::FactoryContext& parent_;
  const std::vector<std::string> names_;
};

// Every reason word the codec and the connection manager use (codec.h), so each has a
// counter from the start.
// clang-format off
constexpr const char* kRejectionReasons[] = {
    "malformed",           "uri_too_long",       "header_too_large",        "too_many_headers",
    "missing_host",        "multiple_host",      "obsolete_line_folding",   "http2_preface",
    "unsupported_version", "bad_content_length", "bad_transfer_encoding",   "bad_chunk",
    "unexpected_data",     "truncated",          "request_headers_timeout", "fragment_in_target",
    "other"};
// clang-format on

// request_body_min_rate: { bytes_per_second: N, window: D }. A window shorter than a second
// would judge a client by a single packet's timing; longer than an hour would protect nothing.
void parseBodyMinRate(const YAML::Node& node, http::ConnectionManagerConfig& config) {
  const std::string where = "request_body_min_rate";
  if (!node.IsMap()) {
    config::fail(node, where,
                 "expected a map such as { bytes_per_second: 1024, window: 10s }, found " +
                     config::describe(node));
  }
  config::checkKeys(node, where, {"bytes_per_second", "window"});
  if (!node["bytes_per_second"].IsDefined()) {
    config::fail(node, config::fieldPath(where, "bytes_per_second"),
                 "expected a number of bytes per second (0 turns the check off), found nothing");
  }
  config.request_body_min_bytes_per_second =
      *config::optionalUint(node, where, "bytes_per_second", 0, 1024 * 1024 * 1024);
  if (auto window = config::optionalDuration(node, where, "window")) {
    if (*window < std::chrono::seconds(1) || *window > std::chrono::hours(1)) {
      config::fail(node["window"], config::fieldPath(where, "window"),
                   "expected a duration from 1s to 1h, found " + config::describe(node["window"]));
    }
    config.request_body_min_rate_window = *window;
  }
}

}  // namespace

registry::NetworkFilterFactoryCb HttpConnectionManagerFactory::createFilterFactory(
    const YAML::Node& node, registry::FactoryContext& context) {
  config::checkKeys(node, "",
                    {"http_filters", "max_head_bytes", "max_headers", "max_uri_bytes",
                     "request_headers_timeout", "idle_timeout", "stream_idle_timeout",
                     "buffer_limit", "delayed_close_timeout", "request_body_min_rate"});
  auto config = std::make_shared<http::ConnectionManagerConfig>();
  if (auto v = config::optionalUint(node, "", "max_head_bytes", 1024, 1024 * 1024)) {
    config->limits.max_head_bytes = static_cast<uint32_t>(*v);
  }
  if (auto v = config::optionalUint(node, "", "max_headers", 1, 10000)) {
    config->limits.max_headers = static_cast<uint32_t>(*v);
  }
  if (auto v = config::optionalUint(node, "", "max_uri_bytes", 64, 1024 * 1024)) {
    config->limits.max_uri_bytes = static_cast<uint32_t>(*v);
  }
  if (auto v = config::optionalDuration(node, "", "request_headers_timeout")) {
    config->request_headers_timeout = *v;
  }
  if (auto v = config::optionalDuration(node, "", "idle_timeout")) {
    config->idle_timeout = *v;
  }
  if (auto v = config::optionalDuration(node, "", "stream_idle_timeout")) {
    config->stream_idle_timeout = *v;
  }
  if (auto v = config::optionalUint(node, "", "buffer_limit", 16 * 1024, 64 * 1024 * 1024)) {
    config->buffer_limit = static_cast<uint32_t>(*v);
  }
  if (auto v = config::optionalDuration(node, "", "delayed_close_timeout")) {
    config->delayed_close_timeout = *v;
  }
  if (node.IsMap() && node["request_body_min_rate"].IsDefined()) {
    parseBodyMinRate(node["request_body_min_rate"], *config);
  }
  config->listener_name = context.listenerName();
  config->logger = &context.logger();
  config->access_log = context.accessLog();

  YAML::Node filters = node.IsMap() ? node["http_filters"] : YAML::Node();
  if (!filters.IsDefined() || !filters.IsSequence() || filters.size() == 0) {
    config::fail(
        filters.IsDefined() ? filters : node, "http_filters",
        "expected a list of HTTP filters ending in router, found " + config::describe(filters));
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < filters.size(); ++i) {
    const std::string where = config::indexPath("http_filters", i);
    config::checkKeys(filters[i], where, {"name", "config"});
    names.push_back(config::requiredString(filters[i], where, "name"));
  }
  HttpFilterFactoryContext http_context(context, names);
  for (size_t i = 0; i < filters.size(); ++i) {
    const std::string where = config::indexPath("http_filters", i);
    registry::NamedHttpFilterFactory* factory = registry::httpFilters().get(names[i]);
    if (factory == nullptr) {
      std::string known;
      for (const auto& name : registry::httpFilters().names()) {
        known += (known.empty() ? "" : ", ") + name;
      }
      config::fail(
          filters[i]["name"], where + ".name",
          "unknown HTTP filter, expected one of: " + known + ", found \"" + names[i] + "\"");
    }
    bool terminal = factory->capabilities().terminal;
    bool last = i + 1 == filters.size();
    if (terminal != last) {
      config::fail(filters[i]["name"], where + ".name",
                   terminal ? "terminal HTTP filter " + names[i] + " must be the last in the chain"
                            : "the last HTTP filter must be terminal (router), found " + names[i]);
    }
    YAML::Node filter_config = filters[i]["config"];
    try {
      config->filter_factories.push_back(factory->createFilterFactory(filter_config, http_context));
      config->filter_counters.push_back(
          stats::FilterCounters::forHttpFilter(context.scope(), context.listenerName(), names[i]));
    } catch (const registry::ConfigError& error) {
      std::string field = where + ".config";
      if (!error.field().empty()) {
        field += "." + error.field();
      }
      throw registry::ConfigError(error.mark().is_null() ? filters[i].Mark() : error.mark(), field,
                                  error.what());
    }
  }

  stats::Scope& scope = context.scope();
  for (const char* reason : kRejectionReasons) {
    config->rejections[reason] = &scope.counter(
        "proxy_http_requests_rejected_total",
        "Requests refused by the HTTP codec or connection manager before any filter, by reason.",
        {{"listener", context.listenerName()}, {"reason", reason}});
  }
  // After a reload, this listener's open connections take the newest config from here.
  registry::ConfigHandleSharedPtr handle = context.publishOnApply(name(), config);
  return [config, handle](network::FilterManager& manager) {
    manager.addReadFilter(std::make_shared<http::ConnectionManagerImpl>(config, handle));
  };
}

static registry::RegisterNetworkFilter<HttpConnectionManagerFactory> registered;

}  // namespace proxy::filters::http_connection_manager
