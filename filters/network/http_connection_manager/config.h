#pragma once

#include "api/registry/filter_factory.h"

namespace proxy::filters::http_connection_manager {

// `http_connection_manager`: the terminal network filter of an HTTP listener. Config:
//   http_filters: [{name, config}]   the HTTP filter chain; exactly one terminal (router), last
//   max_head_bytes: 61440            request line + headers; over it 431
//   max_headers: 100                 over it 431
//   max_uri_bytes: 16384             over it 414
//   request_headers_timeout: 10s     from a request's first byte to its last header byte
//   idle_timeout: 60s                a keep-alive connection with nothing in flight
//   buffer_limit: 1048576            bytes queued toward the client before the upstream pauses
// The logic lives in source/common/http/ (ConnectionManagerImpl); this is its factory.
class HttpConnectionManagerFactory final : public registry::NamedNetworkFilterFactory {
 public:
  std::string name() const override { return "http_connection_manager"; }
  registry::FilterCapabilities capabilities() const override {
    return {.terminal = true, .reads_body = true};
  }
  registry::NetworkFilterFactoryCb createFilterFactory(const YAML::Node& config,
                                                       registry::FactoryContext& context) override;
};

}  // namespace proxy::filters::http_connection_manager
