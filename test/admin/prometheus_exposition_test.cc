#include "admin/prometheus_exposition.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace proxy::admin {
namespace {

using testing::HasSubstr;

std::string render(const stats::StoreImpl& store) {
  return renderPrometheusText({std::make_shared<StatsCollector>(store)});
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

// The value of each unlabelled sample line ("name value").
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  for (const std::string& line : lines(text)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    size_t space = line.find(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

TEST(PrometheusExpositionTest, LegacyNamesAreRenderedExactly) {
  stats::StoreImpl store(2);
  store.gauge("tcp_connections_active_count", "Number of active TCP connections.").add(3);
  store.counter("tcp_connections_total_count", "Total number of TCP connections.").inc(7);
  store.counter("http_request_total_count", "Total number of HTTP requests.").inc(11);
  store.computedGauge("http_request_time_avg_milliseconds",
                      "Average HTTP request duration in milliseconds.", {}, [] { return 12.25; });

  // Families come in name order, each with its # HELP and # TYPE before the sample; the
  // counters keep their names (no _total is added).
  EXPECT_EQ(render(store),
            "# HELP http_request_time_avg_milliseconds Average HTTP request duration in "
            "milliseconds.\n"
            "# TYPE http_request_time_avg_milliseconds gauge\n"
            "http_request_time_avg_milliseconds 12.25\n"
            "# HELP http_request_total_count Total number of HTTP requests.\n"
            "# TYPE http_request_total_count counter\n"
            "http_request_total_count 11\n"
            "# HELP tcp_connections_active_count Number of active TCP connections.\n"
            "# TYPE tcp_connections_active_count gauge\n"
            "tcp_connections_active_count 3\n"
            "# HELP tcp_connections_total_count Total number of TCP connections.\n"
            "# TYPE tcp_connections_total_count counter\n"
            "tcp_connections_total_count 7\n");
}

TEST(PrometheusExpositionTest, UntouchedMetricsAreShownAsZero) {
  stats::StoreImpl store(1);
  store.counter("tcp_connections_total_count", "Total number of TCP connections.");
  EXPECT_THAT(render(store), HasSubstr("\ntcp_connections_total_count 0\n"));
}

TEST(PrometheusExpositionTest, LabelledFamilies) {
  stats::StoreImpl store(1);
  store
      .counter("proxy_http_requests_total", "Requests answered.",
               {{"listener", "web"}, {"route", "users"}, {"status_class", "2xx"}})
      .inc(5);
  store
      .counter("proxy_http_requests_total", "Requests answered.",
               {{"listener", "web"}, {"route", "users"}, {"status_class", "5xx"}})
      .inc(1);
  store.gauge("proxy_connections_active", "Open connections.", {{"listener", "tcp"}}).add(2);
  store.counter("labelled_escape_total", "Escapes.", {{"route", "a\"b\\c\nd"}}).inc();

  const std::string text = render(store);
  EXPECT_THAT(text, HasSubstr("# TYPE proxy_http_requests_total counter\n"
                              "proxy_http_requests_total{listener=\"web\",route=\"users\","
                              "status_class=\"2xx\"} 5\n"
                              "proxy_http_requests_total{listener=\"web\",route=\"users\","
                              "status_class=\"5xx\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE proxy_connections_active gauge\n"
                              "proxy_connections_active{listener=\"tcp\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("labelled_escape_total{route=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST(PrometheusExpositionTest, HistogramSeries) {
  stats::StoreImpl store(1);
  stats::Histogram& histogram =
      store.histogram("proxy_http_request_duration_seconds", "Request duration.",
                      {{"route", "users"}}, {0.005, 0.1, 1});
  histogram.recordValue(0.001);
  histogram.recordValue(0.05);
  histogram.recordValue(0.1);
  histogram.recordValue(3);

  const std::string text = render(store);
  EXPECT_THAT(text, HasSubstr("# HELP proxy_http_request_duration_seconds Request duration.\n"
                              "# TYPE proxy_http_request_duration_seconds histogram\n"));
  const std::string name = "proxy_http_request_duration_seconds";
  EXPECT_THAT(text, HasSubstr(name + "_count{route=\"users\"} 4\n"));
  EXPECT_THAT(text, HasSubstr(name + "_sum{route=\"users\"} 3.151\n"));
  EXPECT_THAT(text, HasSubstr(name + "_bucket{route=\"users\",le=\"0.005\"} 1\n" + name +
                              "_bucket{route=\"users\",le=\"0.1\"} 3\n" + name +
                              "_bucket{route=\"users\",le=\"1\"} 3\n" + name +
                              "_bucket{route=\"users\",le=\"+Inf\"} 4\n"));
}

TEST(PrometheusExpositionTest, HelpIsEscaped) {
  stats::StoreImpl store(1);
  store.counter("escaped_total", "Line one\nC:\\path").inc();
  EXPECT_THAT(render(store), HasSubstr("# HELP escaped_total Line one\\nC:\\\\path\n"));
}

TEST(PrometheusExpositionTest, CollectablesAreRenderedInOrder) {
  stats::StoreImpl first(1);
  first.counter("zz_first_total", "First.").inc();
  stats::StoreImpl second(1);
  second.counter("aa_second_total", "Second.").inc();
  const std::string text = renderPrometheusText(
      {std::make_shared<StatsCollector>(first), std::make_shared<StatsCollector>(second)});
  EXPECT_LT(text.find("zz_first_total"), text.find("aa_second_total"));
  EXPECT_EQ(renderPrometheusText({}), "");
}

TEST(PrometheusExpositionTest, StatsCollectorConvertsTypes) {
  stats::StoreImpl store(1);
  store.counter("c_total", "C.").inc(2);
  store.gauge("g", "G.").add(-4);
  store.histogram("h", "H.", {}, {1}).recordValue(2);
  std::vector<prometheus::MetricFamily> families = StatsCollector(store).Collect();
  ASSERT_EQ(families.size(), 3u);
  EXPECT_EQ(families[0].type, prometheus::MetricType::Counter);
  EXPECT_EQ(families[0].metric.at(0).counter.value, 2);
  EXPECT_EQ(families[1].type, prometheus::MetricType::Gauge);
  EXPECT_EQ(families[1].metric.at(0).gauge.value, -4);
  EXPECT_EQ(families[2].type, prometheus::MetricType::Histogram);
  const auto& histogram = families[2].metric.at(0).histogram;
  EXPECT_EQ(histogram.sample_count, 1u);
  EXPECT_EQ(histogram.sample_sum, 2);
  ASSERT_EQ(histogram.bucket.size(), 2u);
  EXPECT_EQ(histogram.bucket[0].upper_bound, 1);
  EXPECT_EQ(histogram.bucket[0].cumulative_count, 0u);
  EXPECT_EQ(histogram.bucket[1].upper_bound, std::numeric_limits<double>::infinity());
  EXPECT_EQ(histogram.bucket[1].cumulative_count, 1u);
}

TEST(PrometheusExpositionTest, ProcessMetrics) {
  auto collector = std::make_shared<ProcessCollector>();
  const std::string text = renderPrometheusText({collector});
  for (const char* family :
       {"process_cpu_seconds_total counter", "process_resident_memory_bytes gauge",
        "process_virtual_memory_bytes gauge", "process_open_fds gauge", "process_max_fds gauge",
        "process_start_time_seconds gauge"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + family + "\n"));
  }
  EXPECT_THAT(text, HasSubstr("# HELP process_open_fds "));

  std::map<std::string, double> values = samples(text);
  EXPECT_GT(values["process_resident_memory_bytes"], 1024 * 1024);
  EXPECT_GE(values["process_virtual_memory_bytes"], values["process_resident_memory_bytes"]);
  EXPECT_GE(values["process_cpu_seconds_total"], 0);
  EXPECT_GE(values["process_open_fds"], 3);
  EXPECT_GE(values["process_max_fds"], values["process_open_fds"]);
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(values["process_start_time_seconds"], now + 1);
  EXPECT_GT(values["process_start_time_seconds"], now - 24 * 3600);

  // Counted exactly: one more descriptor shows as one more.
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(samples(renderPrometheusText({collector}))["process_open_fds"],
            values["process_open_fds"] + 1);
  close(fd);
}

}  // namespace
}  // namespace proxy::admin
