#include "server/config/config_printer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "server/config/config_loader.h"
#include "test/server/config/config_test_util.h"
#include "test/support/source_dir.h"

namespace proxy::server {
namespace {

using std::chrono::milliseconds;
using testing::HasSubstr;
using testing::Not;
using testing::StartsWith;

const std::string kTestdata = proxy::test::sourceDir() + "/test/server/config/testdata/";

std::optional<std::string> noEnv(const std::string&) { return std::nullopt; }

// Everything a Config says, except where it came from (file, seed_form, warnings, marks).
void expectSameSettings(const Config& a, const Config& b) {
  EXPECT_EQ(a.admin_address.host, b.admin_address.host);
  EXPECT_EQ(a.admin_address.port, b.admin_address.port);
  EXPECT_EQ(a.admin.allowed_hosts, b.admin.allowed_hosts);
  EXPECT_EQ(a.admin.token_file, b.admin.token_file);
  EXPECT_EQ(a.admin.token, b.admin.token);
  ASSERT_EQ(a.admin.read_only_address.has_value(), b.admin.read_only_address.has_value());
  if (a.admin.read_only_address) {
    EXPECT_EQ(a.admin.read_only_address->toString(), b.admin.read_only_address->toString());
  }
  EXPECT_EQ(a.log_level, b.log_level);
  EXPECT_EQ(a.workers, b.workers);
  EXPECT_EQ(a.shutdown_timeout, b.shutdown_timeout);
  ASSERT_EQ(a.clusters.size(), b.clusters.size());
  for (size_t i = 0; i < a.clusters.size(); ++i) {
    SCOPED_TRACE(a.clusters[i].field);
    EXPECT_EQ(a.clusters[i].name, b.clusters[i].name);
    EXPECT_EQ(a.clusters[i].field, b.clusters[i].field);
    EXPECT_EQ(a.clusters[i].lb_policy, b.clusters[i].lb_policy);
    EXPECT_EQ(a.clusters[i].connect_timeout, b.clusters[i].connect_timeout);
    EXPECT_EQ(a.clusters[i].passive_health.consecutive_failures,
              b.clusters[i].passive_health.consecutive_failures);
    EXPECT_EQ(a.clusters[i].passive_health.ejection_time,
              b.clusters[i].passive_health.ejection_time);
    EXPECT_EQ(a.clusters[i].dns_refresh_interval, b.clusters[i].dns_refresh_interval);
    ASSERT_EQ(a.clusters[i].tls.has_value(), b.clusters[i].tls.has_value());
    if (a.clusters[i].tls) {
      EXPECT_EQ(a.clusters[i].tls->ca_file, b.clusters[i].tls->ca_file);
      EXPECT_EQ(a.clusters[i].tls->sni, b.clusters[i].tls->sni);
      EXPECT_EQ(a.clusters[i].tls->verify, b.clusters[i].tls->verify);
    }
    ASSERT_EQ(a.clusters[i].endpoints.size(), b.clusters[i].endpoints.size());
    for (size_t j = 0; j < a.clusters[i].endpoints.size(); ++j) {
      EXPECT_EQ(a.clusters[i].endpoints[j].host, b.clusters[i].endpoints[j].host);
      EXPECT_EQ(a.clusters[i].endpoints[j].port, b.clusters[i].endpoints[j].port);
      EXPECT_EQ(a.clusters[i].endpoints[j].tls, b.clusters[i].endpoints[j].tls);
    }
  }
  ASSERT_EQ(a.listeners.size(), b.listeners.size());
  for (size_t i = 0; i < a.listeners.size(); ++i) {
    SCOPED_TRACE(a.listeners[i].field);
    EXPECT_EQ(a.listeners[i].name, b.listeners[i].name);
    EXPECT_EQ(a.listeners[i].field, b.listeners[i].field);
    EXPECT_EQ(a.listeners[i].address.host, b.listeners[i].address.host);
    EXPECT_EQ(a.listeners[i].address.port, b.listeners[i].address.port);
    EXPECT_EQ(a.listeners[i].max_connections, b.listeners[i].max_connections);
    ASSERT_EQ(a.listeners[i].filters.size(), b.listeners[i].filters.size());
    for (size_t k = 0; k < a.listeners[i].filters.size(); ++k) {
      EXPECT_EQ(a.listeners[i].filters[k].name, b.listeners[i].filters[k].name);
      EXPECT_EQ(a.listeners[i].filters[k].field, b.listeners[i].filters[k].field);
      EXPECT_TRUE(
          config_test::sameYaml(a.listeners[i].filters[k].config, b.listeners[i].filters[k].config))
          << YAML::Dump(a.listeners[i].filters[k].config) << "\n---\n"
          << YAML::Dump(b.listeners[i].filters[k].config);
    }
  }
}

class ConfigPrinterTest : public testing::Test {
 protected:
  // Prints `config`, parses the text back and checks nothing changed.
  void expectRoundTrip(const Config& config) {
    std::string printed = printCanonicalConfig(config);
    SCOPED_TRACE(printed);
    Config reparsed = parseConfig(printed, "printed.yml", noEnv, filters_);
    EXPECT_FALSE(reparsed.seed_form);
    // The seed form's warnings are gone in the canonical form; an unverified TLS cluster is
    // warned about in any form.
    for (const std::string& warning : reparsed.warnings) {
      EXPECT_NE(warning.find("tls.verify: false"), std::string::npos) << warning;
    }
    expectSameSettings(config, reparsed);
    // And printing is a fixed point.
    EXPECT_EQ(printCanonicalConfig(reparsed), printed);
  }

  NetworkFilterRegistry filters_ = config_test::httpFilters();
};

TEST(FormatDurationTest, WholeUnitsInGoSyntax) {
  EXPECT_EQ(formatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(formatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(formatDuration(milliseconds(5000)), "5s");
  EXPECT_EQ(formatDuration(milliseconds(90000)), "1m30s");
  EXPECT_EQ(formatDuration(milliseconds(1500)), "1s500ms");
  EXPECT_EQ(formatDuration(milliseconds(3600000)), "1h");
  EXPECT_EQ(formatDuration(milliseconds(3661001)), "1h1m1s1ms");
}

TEST(FormatEndpointTest, SchemeOnlyForTls) {
  EXPECT_EQ(formatEndpoint({"127.0.0.1", 8080, false}), "127.0.0.1:8080");
  EXPECT_EQ(formatEndpoint({"::1", 80, false}), "[::1]:80");
  EXPECT_EQ(formatEndpoint({"api.internal", 443, true}), "https://api.internal:443");
}

TEST_F(ConfigPrinterTest, PrintsEverySettingInCanonicalForm) {
  // Any readable file will do as a CA file at load time.
  const std::string ca_file = kTestdata + "canonical-example.yml";
  auto withCaFile = [&](std::string text) {
    text.replace(text.find("CA_FILE"), 7, ca_file);
    return text;
  };
  Config config = parseConfig(withCaFile(R"(clusters:
  - name: backend
    endpoints: ["127.0.0.1:8080"]
  - name: api
    endpoints: ["https://api.internal"]
    tls: { ca_file: "CA_FILE", sni: api.example.com, verify: false }
listeners:
  - address: ":8020"
    filters:
      - name: stats
      - name: tcp_proxy
        config: { cluster: backend, idle_timeout: 10s }
)"),
                              "test.yml", noEnv, filters_);
  EXPECT_EQ(printCanonicalConfig(config), withCaFile(R"(admin: {address: "127.0.0.1:42007"}
log_level: info
workers: auto
shutdown_timeout: 5s
clusters:
  - name: "backend"
    endpoints: ["127.0.0.1:8080"]
    lb_policy: round_robin
    connect_timeout: 5s
    passive_health: {consecutive_failures: 5, ejection_time: 10s}
    dns_refresh_interval: 30s
  - name: "api"
    endpoints: ["https://api.internal:443"]
    lb_policy: round_robin
    connect_timeout: 5s
    passive_health: {consecutive_failures: 5, ejection_time: 10s}
    dns_refresh_interval: 30s
    tls:
      ca_file: "CA_FILE"
      sni: "api.example.com"
      verify: false
listeners:
  - name: "listener_8020"
    address: ":8020"
    max_connections: 100000
    filters:
      - name: stats
      - name: tcp_proxy
        config: {cluster: backend, idle_timeout: 10s}
)"));
  expectRoundTrip(config);
}

TEST_F(ConfigPrinterTest, SeedFormIsPrintedInCanonicalForm) {
  filters_ = config_test::tcpFilters();
  Config config = loadConfigFile(kTestdata + "example-config.yml", noEnv, filters_);
  ASSERT_FALSE(config.warnings.empty());
  std::string printed = printCanonicalConfig(config);
  // The seed's every-interface admin default is written out, so it survives the translation.
  EXPECT_THAT(printed, StartsWith("admin: {address: \":42007\"}\nlog_level: debug\n"));
  EXPECT_THAT(printed, Not(HasSubstr("http_routes")));
  expectRoundTrip(config);
}

// Found by the config fuzz target: the translated empty route list printed in block style
// ("routes:\n  []"), which read back as flow style and printed differently.
TEST_F(ConfigPrinterTest, SeedHttpWithoutRoutesRoundTrips) {
  Config config = parseConfig("http_config: { port: \":8021\", shutdown_timeout: 250ms }\n",
                              "seed.yml", noEnv, filters_);
  std::string printed = printCanonicalConfig(config);
  EXPECT_THAT(printed, HasSubstr("routes: []\n"));
  expectRoundTrip(config);
}

TEST_F(ConfigPrinterTest, ExampleConfigRoundTrips) {
  expectRoundTrip(loadConfigFile(kTestdata + "example-config.yml", noEnv, filters_));
}

TEST_F(ConfigPrinterTest, DockerConfigRoundTrips) {
  expectRoundTrip(loadConfigFile(kTestdata + "config-docker.yml", noEnv, filters_));
}

TEST_F(ConfigPrinterTest, ContractExampleRoundTrips) {
  Config config = loadConfigFile(kTestdata + "canonical-example.yml", noEnv, filters_);
  ASSERT_EQ(config.listeners.size(), 2u);
  expectRoundTrip(config);
}

TEST_F(ConfigPrinterTest, NonDefaultSettingsRoundTrip) {
  expectRoundTrip(parseConfig(R"(admin: { address: "[::1]:9901" }
log_level: error
workers: 12
shutdown_timeout: 1h2m3s4ms
clusters:
  - name: "odd: name # with symbols"
    endpoints: ["[fe80::1%eth0]:80", "http://a.b", "https://c:8443/"]
    lb_policy: least_request
    connect_timeout: 1.5s
    passive_health: { consecutive_failures: 0, ejection_time: 250ms }
    dns_refresh_interval: 0s
listeners:
  - name: "yes"
    address: "0.0.0.0:0"
    max_connections: 7
    filters:
      - name: test_plain
        config: "a scalar"
      - name: test_plain
        config: null
      - name: test_terminal
        config: [1, {x: "true"}]
)",
                              "test.yml", noEnv, filters_));
}

TEST_F(ConfigPrinterTest, AdminBlockRoundTripsWithoutTheToken) {
  char path[] = "/tmp/proxy-printer-token-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "hidden-token\n", 13), 13);
  close(fd);
  Config config = parseConfig(std::string("admin: { address: \"127.0.0.1:9901\", allowed_hosts: "
                                          "[reverse-proxy, Proxy.Internal], token_file: ") +
                                  path + ", read_only_address: \":9902\" }\n",
                              "test.yml", noEnv, filters_);
  std::string printed = printCanonicalConfig(config);
  EXPECT_THAT(printed, StartsWith(std::string("admin: {address: \"127.0.0.1:9901\", allowed_hosts: "
                                              "[\"reverse-proxy\", \"proxy.internal\"], "
                                              "token_file: \"") +
                                  path + "\", read_only_address: \":9902\"}\n"));
  // config_dump prints this: the token itself never appears.
  EXPECT_THAT(printed, Not(HasSubstr("hidden-token")));
  expectRoundTrip(config);
  unlink(path);
}

TEST_F(ConfigPrinterTest, AccessLogIsPrintedWhenOn) {
  Config config = parseConfig("access_log: { path: \"/var/log/a b.log\", format: json }\n",
                              "test.yml", noEnv, filters_);
  std::string printed = printCanonicalConfig(config);
  EXPECT_THAT(printed, HasSubstr("access_log: {path: \"/var/log/a b.log\", format: json}"));
  Config reparsed = parseConfig(printed, "printed.yml", noEnv, filters_);
  EXPECT_EQ("/var/log/a b.log", reparsed.access_log.path);
  EXPECT_EQ("json", reparsed.access_log.format);
  EXPECT_THAT(printCanonicalConfig(parseConfig("log_level: warn\n", "test.yml", noEnv, filters_)),
              testing::Not(HasSubstr("access_log")));
}

TEST_F(ConfigPrinterTest, EmptyConfigRoundTrips) {
  Config config = parseConfig("log_level: warn\n", "test.yml", noEnv, filters_);
  EXPECT_THAT(printCanonicalConfig(config), HasSubstr("clusters: []\nlisteners: []\n"));
  expectRoundTrip(config);
}

}  // namespace
}  // namespace proxy::server
