#include "filters/http/stats/stats_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "api/registry/config_error.h"
#include "filters/http/stats/config.h"
#include "test/mocks/http/mocks.h"
#include "test/mocks/registry/mocks.h"

namespace proxy::filters::http_stats {
namespace {

using testing::HasSubstr;
using testing::NiceMock;

class HttpStatsFilterTest : public testing::Test {
 protected:
  // One request through a fresh filter of `yaml`'s config, ending with `info`.
  void finish(const std::string& yaml, const http::StreamInfo& info) {
    registry::HttpFilterFactoryCb install =
        factory_.createFilterFactory(YAML::Load(yaml), context_);
    NiceMock<http::MockFilterChainFactoryCallbacks> chain;
    install(chain);
    ASSERT_EQ(chain.stream_filters_.size(), 1u);
    NiceMock<http::MockStreamDecoderFilterCallbacks> callbacks;
    callbacks.stream_info_ = info;
    chain.stream_filters_[0]->setDecoderFilterCallbacks(callbacks);
    chain.stream_filters_[0]->onDestroy();
  }

  // The value of `name` with exactly these labels; -1 when absent.
  double value(const std::string& name, const stats::Labels& labels) {
    for (const auto& family : context_.store_.snapshot()) {
      if (family.name != name) {
        continue;
      }
      for (const auto& metric : family.metrics) {
        if (metric.labels == labels) {
          return family.type == stats::MetricType::kHistogram
                     ? static_cast<double>(metric.histogram.count)
                     : metric.value;
        }
      }
    }
    return -1;
  }

  std::vector<double> bounds(const std::string& name) {
    for (const auto& family : context_.store_.snapshot()) {
      if (family.name == name && !family.metrics.empty()) {
        return family.metrics[0].histogram.bounds;
      }
    }
    return {};
  }

  HttpStatsFactory factory_;
  NiceMock<registry::MockFactoryContext> context_;
};

TEST_F(HttpStatsFilterTest, FailuresAreCountedByCause) {
  http::StreamInfo refused;
  refused.response_code = 502;
  refused.route_name = "r";
  refused.cluster_name = "c";
  refused.failure = http::RequestFailure::kUpstreamConnectRefused;
  finish("", refused);
  http::StreamInfo fine;
  fine.response_code = 200;
  finish("", fine);
  const std::string listener = context_.listener_name_;
  EXPECT_EQ(1, value("proxy_http_request_failures_total",
                     {{"listener", listener}, {"cause", "upstream_connect_refused"}}));
  // Every cause is there from the start, at 0.
  EXPECT_EQ(0, value("proxy_http_request_failures_total",
                     {{"listener", listener}, {"cause", "upstream_response_timeout"}}));
  EXPECT_EQ(
      -1, value("proxy_http_request_failures_total", {{"listener", listener}, {"cause", "none"}}));
}

TEST_F(HttpStatsFilterTest, EachRequestCountsUnderItsOwnLabelsWhateverCameBefore) {
  // The worker checks the label set of the request before first: a change of route,
  // cluster or status class must still find its own handles.
  registry::HttpFilterFactoryCb install = factory_.createFilterFactory(YAML::Load(""), context_);
  auto request = [&install](const std::string& route, const std::string& cluster, int code) {
    NiceMock<http::MockFilterChainFactoryCallbacks> chain;
    install(chain);
    NiceMock<http::MockStreamDecoderFilterCallbacks> callbacks;
    callbacks.stream_info_.route_name = route;
    callbacks.stream_info_.cluster_name = cluster;
    callbacks.stream_info_.response_code = code;
    chain.stream_filters_.at(0)->setDecoderFilterCallbacks(callbacks);
    chain.stream_filters_.at(0)->onDestroy();
  };
  request("r", "c", 200);
  request("r", "c", 204);
  request("r", "c", 500);
  request("r2", "c", 200);
  request("r", "c2", 200);
  request("r", "c", 200);
  const std::string listener = context_.listener_name_;
  auto requests = [&](const char* route, const char* cluster, const char* status_class) {
    return value("proxy_http_requests_total", {{"listener", listener},
                                               {"route", route},
                                               {"cluster", cluster},
                                               {"status_class", status_class}});
  };
  EXPECT_EQ(3, requests("r", "c", "2xx"));
  EXPECT_EQ(1, requests("r", "c", "5xx"));
  EXPECT_EQ(1, requests("r2", "c", "2xx"));
  EXPECT_EQ(1, requests("r", "c2", "2xx"));
}

TEST_F(HttpStatsFilterTest, DefaultBucketsAreSecondsFromOneMillisecondToTen) {
  http::StreamInfo info;
  info.response_code = 200;
  finish("", info);
  EXPECT_EQ(bounds("proxy_http_request_duration_seconds"),
            (std::vector<double>{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}));
}

TEST_F(HttpStatsFilterTest, BucketsAreConfigurable) {
  http::StreamInfo info;
  info.response_code = 200;
  finish("{ buckets: [0.002, 0.2, 20] }", info);
  EXPECT_EQ(bounds("proxy_http_request_duration_seconds"), (std::vector<double>{0.002, 0.2, 20}));
  EXPECT_EQ(1, value("proxy_http_request_duration_seconds",
                     {{"listener", context_.listener_name_}, {"route", ""}}));
}

TEST_F(HttpStatsFilterTest, BadBucketsAreConfigErrors) {
  for (const char* yaml :
       {"{ buckets: [0.5, 0.1] }", "{ buckets: [1, fast] }", "{ buckets: 3 }", "{ bukets: [1] }"}) {
    EXPECT_THROW(factory_.createFilterFactory(YAML::Load(yaml), context_), registry::ConfigError)
        << yaml;
  }
  try {
    factory_.createFilterFactory(YAML::Load("{ buckets: [0.5, 0.1] }"), context_);
  } catch (const registry::ConfigError& error) {
    EXPECT_EQ(error.field(), "buckets[1]");
    EXPECT_THAT(error.what(), HasSubstr("expected a number larger than the one before"));
  }
}

}  // namespace
}  // namespace proxy::filters::http_stats
