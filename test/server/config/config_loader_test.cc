#include "server/config/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "api/registry/registry.h"
#include "test/server/config/config_test_util.h"
#include "test/support/source_dir.h"

namespace proxy::server {
namespace {

using std::chrono::milliseconds;
using testing::ElementsAre;
using testing::HasSubstr;
using testing::IsEmpty;

const std::string kTestdata = proxy::test::sourceDir() + "/test/server/config/testdata/";

std::vector<std::string> filterNames(const ListenerConfig& listener) {
  std::vector<std::string> names;
  for (const auto& filter : listener.filters) {
    names.push_back(filter.name);
  }
  return names;
}

std::vector<std::string> clusterNames(const Config& config) {
  std::vector<std::string> names;
  for (const auto& cluster : config.clusters) {
    names.push_back(cluster.name);
  }
  return names;
}

using config_test::sameYaml;

class ConfigLoaderTest : public testing::Test {
 protected:
  EnvLookup env() {
    return [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      return it == env_.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
  }

  Config parse(const std::string& yaml) { return parseConfig(yaml, "test.yml", env(), filters_); }

  Config load(const std::string& file) { return loadConfigFile(kTestdata + file, env(), filters_); }

  std::string errorOf(const std::string& yaml) {
    try {
      parse(yaml);
    } catch (const ConfigFileError& error) {
      return error.what();
    }
    ADD_FAILURE() << "no error for:\n" << yaml;
    return "";
  }

  std::map<std::string, std::string> env_;
  NetworkFilterRegistry filters_ = config_test::tcpFilters();
};

constexpr char kTcpCanonical[] = R"(clusters:
  - name: backend
    endpoints: ["127.0.0.1:8080"]
listeners:
  - name: tcp
    address: ":8020"
    filters:
      - name: stats
      - name: tcp_proxy
        config: { cluster: backend }
)";

// --- The seed fixtures ---

TEST_F(ConfigLoaderTest, ExampleConfigLoadsWithHttpListenerSkippedWithoutHttpFilters) {
  Config config = load("example-config.yml");
  EXPECT_TRUE(config.seed_form);
  EXPECT_EQ(config.admin_address.toString(), ":42007");
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.shutdown_timeout, milliseconds(5000));
  ASSERT_EQ(config.listeners.size(), 1u);
  const ListenerConfig& tcp = config.listeners[0];
  EXPECT_EQ(tcp.name, "tcp");
  EXPECT_EQ(tcp.address.toString(), ":8020");
  EXPECT_THAT(filterNames(tcp), ElementsAre("stats", "tcp_proxy"));
  EXPECT_EQ(tcp.filters[1].config["cluster"].Scalar(), "localhost:8080");
  // The HTTP clusters are dropped with their listener.
  EXPECT_THAT(clusterNames(config), ElementsAre("localhost:8080"));
  EXPECT_THAT(config.warnings,
              ElementsAre(kTestdata +
                          "example-config.yml:6:1: http_routes: HTTP proxying is not yet supported "
                          "by this build; the HTTP listener on :8021 is skipped"));
}

TEST_F(ConfigLoaderTest, ExampleConfigTranslatesHttpRoutesOnceHttpFiltersExist) {
  filters_ = config_test::httpFilters();
  Config config = load("example-config.yml");
  EXPECT_THAT(config.warnings, IsEmpty());
  ASSERT_EQ(config.listeners.size(), 2u);
  const ListenerConfig& http = config.listeners[1];
  EXPECT_EQ(http.name, "http");
  EXPECT_EQ(http.field, "listeners[1]");
  EXPECT_EQ(http.address.toString(), ":8021");
  ASSERT_THAT(filterNames(http), ElementsAre("http_connection_manager"));
  EXPECT_TRUE(sameYaml(http.filters[0].config, YAML::Load(R"(
http_filters:
  - name: stats
  - name: path_prefix_router
    config:
      routes:
        - {name: localhost/https, host: localhost, prefix: /https, cluster: "jsonplaceholder.typicode.com:443", strip_prefix: true}
        - {name: localhost/, host: localhost, prefix: /, cluster: "localhost:8081"}
        - {name: admin.localhost/payments, host: admin.localhost, prefix: /payments, cluster: "localhost:8082"}
        - {name: admin.localhost/users, host: admin.localhost, prefix: /users, cluster: "localhost:8083"}
        - {name: admin.localhost/long, host: admin.localhost, prefix: /long, cluster: "localhost:8085"}
        - {name: admin.localhost/, host: admin.localhost, prefix: /, cluster: "localhost:8084"}
  - name: router
)"))) << YAML::Dump(http.filters[0].config);
  EXPECT_THAT(clusterNames(config),
              ElementsAre("localhost:8080", "jsonplaceholder.typicode.com:443", "localhost:8081",
                          "localhost:8082", "localhost:8083", "localhost:8085", "localhost:8084"));
  const ClusterConfig& https = config.clusters[1];
  EXPECT_EQ(https.field, "clusters[1]");
  ASSERT_EQ(https.endpoints.size(), 1u);
  EXPECT_EQ(https.endpoints[0].host, "jsonplaceholder.typicode.com");
  EXPECT_EQ(https.endpoints[0].port, 443);
  EXPECT_TRUE(https.endpoints[0].tls);
  EXPECT_FALSE(config.clusters[2].endpoints[0].tls);
}

TEST_F(ConfigLoaderTest, DockerConfigLoadsAndReadsLogAsInfo) {
  filters_ = config_test::httpFilters();
  Config config = load("config-docker.yml");
  EXPECT_EQ(config.log_level, "info");
  EXPECT_THAT(clusterNames(config),
              ElementsAre("localhost:8080", "jsonplaceholder.typicode.com:443",
                          "host.docker.internal:8081", "httpbin:80"));
  ASSERT_EQ(config.listeners.size(), 2u);
  EXPECT_EQ(config.listeners[1]
                .filters[0]
                .config["http_filters"][1]["config"]["routes"][2]["name"]
                .Scalar(),
            "test.localhost/");
}

// The real binary: whatever filters are linked today, the fixtures load, and a listener is
// either there or explained by a warning.
TEST_F(ConfigLoaderTest, SeedFixturesLoadWithTheLinkedFilters) {
  const auto& linked = registry::networkFilters();
  for (const char* file : {"example-config.yml", "config-docker.yml"}) {
    SCOPED_TRACE(file);
    Config config = loadConfigFile(kTestdata + file, env());
    std::vector<std::string> names;
    for (const auto& listener : config.listeners) {
      names.push_back(listener.name);
    }
    bool tcp = linked.get("stats") != nullptr && linked.get("tcp_proxy") != nullptr;
    bool http = linked.get("http_connection_manager") != nullptr;
    EXPECT_EQ(std::count(names.begin(), names.end(), "tcp"), tcp ? 1 : 0);
    EXPECT_EQ(std::count(names.begin(), names.end(), "http"), http ? 1 : 0);
    EXPECT_EQ(config.warnings.size(), (tcp ? 0u : 1u) + (http ? 0u : 1u));
    if (!http) {
      EXPECT_THAT(config.warnings.back(), HasSubstr("HTTP proxying is not yet supported"));
    }
  }
}

TEST_F(ConfigLoaderTest, SeedElementsKeepTheirSeedPositions) {
  filters_ = config_test::httpFilters();
  Config config = load("example-config.yml");
  // Listener marks point at the port, filter marks at the section they came from.
  EXPECT_EQ(config.listeners[0].mark.line, 3);
  EXPECT_EQ(config.listeners[0].filters[1].mark.line, 1);
  EXPECT_EQ(config.listeners[0].filters[1].field, "listeners[0].filters[1]");
  EXPECT_EQ(config.listeners[1].mark.line, 31);
  EXPECT_EQ(config.listeners[1].filters[0].mark.line, 5);
  EXPECT_EQ(config.clusters[1].mark.line, 6);  // the first route's target
}

// --- Canonical form ---

TEST_F(ConfigLoaderTest, CanonicalDefaults) {
  Config config = parse(R"(clusters:
  - name: backend
    endpoints: ["127.0.0.1:8080"]
listeners:
  - address: ":8020"
    filters:
      - name: tcp_proxy
        config: { cluster: backend }
)");
  EXPECT_FALSE(config.seed_form);
  EXPECT_EQ(config.file, "test.yml");
  EXPECT_EQ(config.admin_address.toString(), "127.0.0.1:42007");
  EXPECT_EQ(config.log_level, "info");
  EXPECT_EQ(config.workers, 0u);
  EXPECT_EQ(config.shutdown_timeout, milliseconds(5000));
  EXPECT_EQ(config.clusters[0].lb_policy, "round_robin");
  EXPECT_EQ(config.clusters[0].connect_timeout, milliseconds(5000));
  EXPECT_EQ(config.clusters[0].passive_health.consecutive_failures, 5u);
  EXPECT_EQ(config.clusters[0].passive_health.ejection_time, milliseconds(10000));
  EXPECT_EQ(config.clusters[0].dns_refresh_interval, milliseconds(30000));
  EXPECT_EQ(config.clusters[0].field, "clusters[0]");
  ASSERT_EQ(config.listeners.size(), 1u);
  EXPECT_EQ(config.listeners[0].name, "listener_8020");
  EXPECT_EQ(config.listeners[0].max_connections, 100000u);
  EXPECT_EQ(config.listeners[0].field, "listeners[0]");
  EXPECT_EQ(config.listeners[0].mark.line, 4);  // the address
  EXPECT_EQ(config.listeners[0].filters[0].field, "listeners[0].filters[0]");
  EXPECT_EQ(config.listeners[0].filters[0].mark.line, 6);
  EXPECT_THAT(config.warnings, IsEmpty());
}

TEST_F(ConfigLoaderTest, CanonicalSettings) {
  Config config = parse(R"(admin: { address: "[::1]:9901" }
log_level: warn
workers: 4
shutdown_timeout: 1m30s
clusters:
  - name: web
    endpoints: ["10.0.0.1:80", "[::1]:8080", "http://web.internal", "https://api.internal",
                "https://api.internal:8443/", "HTTP://Upper:81"]
    lb_policy: least_request
    connect_timeout: 250ms
    passive_health: { consecutive_failures: 3, ejection_time: 1m }
    dns_refresh_interval: 500ms
listeners:
  - name: edge
    address: "0.0.0.0:8020"
    max_connections: 1000000
    filters:
      - name: test_plain
        config: { anything: [1, 2] }
      - name: test_terminal
)");
  EXPECT_EQ(config.admin_address.host, "::1");
  EXPECT_EQ(config.admin_address.port, 9901);
  EXPECT_EQ(config.log_level, "warn");
  EXPECT_EQ(config.workers, 4u);
  EXPECT_EQ(config.shutdown_timeout, milliseconds(90000));
  const ClusterConfig& web = config.clusters[0];
  EXPECT_EQ(web.lb_policy, "least_request");
  EXPECT_EQ(web.connect_timeout, milliseconds(250));
  EXPECT_EQ(web.passive_health.consecutive_failures, 3u);
  EXPECT_EQ(web.passive_health.ejection_time, milliseconds(60000));
  EXPECT_EQ(web.dns_refresh_interval, milliseconds(500));
  struct Expected {
    const char* host;
    uint16_t port;
    bool tls;
  };
  const Expected expected[] = {{"10.0.0.1", 80, false},      {"::1", 8080, false},
                               {"web.internal", 80, false},  {"api.internal", 443, true},
                               {"api.internal", 8443, true}, {"Upper", 81, false}};
  ASSERT_EQ(web.endpoints.size(), std::size(expected));
  for (size_t i = 0; i < std::size(expected); ++i) {
    EXPECT_EQ(web.endpoints[i].host, expected[i].host) << i;
    EXPECT_EQ(web.endpoints[i].port, expected[i].port) << i;
    EXPECT_EQ(web.endpoints[i].tls, expected[i].tls) << i;
  }
  const ListenerConfig& edge = config.listeners[0];
  EXPECT_EQ(edge.name, "edge");
  EXPECT_EQ(edge.max_connections, 1000000u);
  // A filter's config is kept as written, for its factory.
  EXPECT_EQ(edge.filters[0].config["anything"][1].Scalar(), "2");
  EXPECT_FALSE(edge.filters[1].config.IsDefined() && !edge.filters[1].config.IsNull());
}

TEST_F(ConfigLoaderTest, ClusterTlsSettings) {
  const std::string ca_file = kTestdata + "canonical-example.yml";  // any readable file
  Config config = parse(R"(clusters:
  - name: api
    endpoints: ["https://api.internal", "10.0.0.1:80"]
    tls:
      ca_file: )" + ca_file +
                        R"(
      sni: api.example.com
      verify: false
  - name: defaults
    endpoints: ["https://api.internal"]
  - name: empty_block
    endpoints: ["https://api.internal"]
    tls: {}
)");
  ASSERT_TRUE(config.clusters[0].tls.has_value());
  const ClusterTlsConfig& tls = *config.clusters[0].tls;
  EXPECT_EQ(tls.ca_file, ca_file);
  EXPECT_EQ(tls.sni, "api.example.com");
  EXPECT_FALSE(tls.verify);
  EXPECT_EQ(tls.field, "clusters[0].tls");
  EXPECT_EQ(tls.ca_file_mark.line, 4);
  // No block: the defaults, applied when the snapshot is built.
  EXPECT_FALSE(config.clusters[1].tls.has_value());
  ASSERT_TRUE(config.clusters[2].tls.has_value());
  EXPECT_EQ(config.clusters[2].tls->ca_file, "");
  EXPECT_EQ(config.clusters[2].tls->sni, "");
  EXPECT_TRUE(config.clusters[2].tls->verify);
  // verify: false loads, but never silently: one warning naming the field and the cluster.
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_THAT(config.warnings[0],
              testing::StartsWith("test.yml:7:15: clusters[0].tls.verify: false: cluster \"api\" "
                                  "does not verify its upstreams' certificates"));
}

TEST_F(ConfigLoaderTest, RelativeCaFileIsBesideTheConfigFile) {
  char pattern[] = "/tmp/proxy_config_test_XXXXXX";
  ASSERT_NE(nullptr, mkdtemp(pattern));
  const std::string dir = pattern;
  std::ofstream(dir + "/ca.pem") << "any\n";
  std::ofstream(dir + "/proxy.yml")
      << "clusters:\n  - name: a\n    endpoints: [\"https://a\"]\n    tls: { ca_file: ca.pem }\n";
  Config config = loadConfigFile(dir + "/proxy.yml", env(), filters_);
  ASSERT_TRUE(config.clusters[0].tls.has_value());
  EXPECT_EQ(config.clusters[0].tls->ca_file, dir + "/ca.pem");
  std::remove((dir + "/ca.pem").c_str());
  std::remove((dir + "/proxy.yml").c_str());
  ::rmdir(dir.c_str());
}

TEST_F(ConfigLoaderTest, LogLevels) {
  for (auto [written, stored] : {std::pair{"debug", "debug"},
                                 {"info", "info"},
                                 {"log", "info"},
                                 {"warn", "warn"},
                                 {"error", "error"}}) {
    EXPECT_EQ(parse(std::string("log_level: ") + written).log_level, stored) << written;
  }
}

TEST_F(ConfigLoaderTest, DurationsUseGoSyntax) {
  struct Case {
    const char* text;
    int64_t ms;
  };
  for (auto [text, ms] :
       {Case{"5s", 5000}, Case{"250ms", 250}, Case{"1m30s", 90000}, Case{"1h", 3600000},
        Case{"1.5s", 1500}, Case{"0", 0}, Case{"2h45m", 9900000}, Case{"1s500ms", 1500},
        Case{"1500us", 2}, Case{"0.067s", 67}, Case{"2.3s", 2300}, Case{".5m", 30000}}) {
    Config config = parse(std::string("shutdown_timeout: \"") + text + "\"");
    EXPECT_EQ(config.shutdown_timeout, milliseconds(ms)) << text;
  }
  for (const char* text : {"5", "5 s", "1x", "-1s", "s", "1.2.3s", "5S", ".s", "596524h", "\"\""}) {
    EXPECT_EQ(errorOf(std::string("shutdown_timeout: ") + text),
              std::string("test.yml:1:19: shutdown_timeout: expected a duration such as \"5s\", "
                          "\"250ms\" or \"1m30s\", found \"") +
                  (std::string(text) == "\"\"" ? "" : text) + "\"")
        << text;
  }
}

TEST_F(ConfigLoaderTest, AccessLogIsOffUnlessConfigured) {
  EXPECT_FALSE(parse("log_level: info").access_log.enabled());
  Config config = parse("access_log: { path: stdout }");
  EXPECT_EQ("stdout", config.access_log.path);
  EXPECT_EQ("text", config.access_log.format);
  config = parse("access_log: { path: /tmp/access.log, format: json }");
  EXPECT_EQ("/tmp/access.log", config.access_log.path);
  EXPECT_EQ("json", config.access_log.format);
}

TEST_F(ConfigLoaderTest, AccessLogErrors) {
  EXPECT_EQ(errorOf("access_log: { path: stdout, format: xml }"),
            "test.yml:1:37: access_log.format: expected text or json, found \"xml\"");
  EXPECT_EQ(errorOf("access_log: { format: json }"),
            "test.yml:1:13: access_log.path: expected a non-empty string, found nothing");
  EXPECT_EQ(errorOf("access_log: { path: stdout, level: 3 }"),
            "test.yml:1:29: access_log.level: unknown field, expected one of: path, format");
  EXPECT_EQ(errorOf("access_log: stdout"),
            "test.yml:1:13: access_log: expected a map with path and format, found \"stdout\"");
  EXPECT_THAT(errorOf("tcp: { port: \":1\", target: \"127.0.0.1:2\" }\naccess_log: { path: x }"),
              testing::HasSubstr("access_log"));
}

TEST_F(ConfigLoaderTest, WorkersAutoOrCount) {
  EXPECT_EQ(parse("workers: auto").workers, 0u);
  EXPECT_EQ(parse("workers: 1").workers, 1u);
  EXPECT_EQ(parse("workers: 256").workers, 256u);
}

TEST_F(ConfigLoaderTest, EmptyListsAreAllowed) {
  Config config = parse("clusters: []\nlisteners:\n");
  EXPECT_THAT(config.clusters, IsEmpty());
  EXPECT_THAT(config.listeners, IsEmpty());
}

TEST_F(ConfigLoaderTest, ListenersOnDifferentHostsOrFreePortsDoNotOverlap) {
  Config config = parse(R"(listeners:
  - { address: "127.0.0.1:8020", name: a, filters: [{name: test_terminal}] }
  - { address: "127.0.0.2:8020", name: b, filters: [{name: test_terminal}] }
  - { address: ":0", name: c, filters: [{name: test_terminal}] }
  - { address: ":0", name: d, filters: [{name: test_terminal}] }
)");
  EXPECT_EQ(config.listeners.size(), 4u);
}

TEST_F(ConfigLoaderTest, TcpProxyToARemoteHostOnTheSamePortIsNoLoop) {
  Config config = parse(R"(clusters:
  - { name: remote, endpoints: ["10.1.2.3:8020"] }
listeners:
  - address: ":8020"
    filters: [{ name: tcp_proxy, config: { cluster: remote } }]
)");
  EXPECT_EQ(config.listeners.size(), 1u);
}

// --- Environment ---

TEST_F(ConfigLoaderTest, InternalApiPortOverridesTheAdminAddress) {
  env_["INTERNAL_API_PORT"] = ":9000";
  EXPECT_EQ(parse("admin: { address: \"127.0.0.1:1\" }").admin_address.toString(), ":9000");
  EXPECT_EQ(load("example-config.yml").admin_address.toString(), ":9000");
  env_["INTERNAL_API_PORT"] = "127.0.0.1:9001";
  EXPECT_EQ(parse("log_level: info").admin_address.toString(), "127.0.0.1:9001");
  env_["INTERNAL_API_PORT"] = "";  // as unset
  EXPECT_EQ(parse("log_level: info").admin_address.toString(), "127.0.0.1:42007");
}

TEST_F(ConfigLoaderTest, InvalidInternalApiPortIsAnError) {
  env_["INTERNAL_API_PORT"] = "42007";
  EXPECT_EQ(errorOf("log_level: info"),
            "environment: INTERNAL_API_PORT: expected a port such as \":42007\" or HOST:PORT, "
            "found \"42007\"");
}

TEST_F(ConfigLoaderTest, ListenerOnTheAdminPortIsAnError) {
  env_["INTERNAL_API_PORT"] = ":8020";
  EXPECT_EQ(errorOf(kTcpCanonical),
            "test.yml:6:14: listeners[0].address: expected an address that does not overlap the "
            "admin address \":8020\", found \":8020\"");
}

// --- The admin block ---

class AdminConfigTest : public ConfigLoaderTest {
 protected:
  // A token file in a fresh directory, removed after the test.
  std::string tokenFile(const std::string& content) {
    char dir[] = "/tmp/proxy-admin-token-XXXXXX";
    EXPECT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    std::string path = dir_ + "/token";
    std::ofstream(path) << content;
    return path;
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::remove((dir_ + "/token").c_str());
      rmdir(dir_.c_str());
    }
  }
  std::string dir_;
};

TEST_F(AdminConfigTest, EveryKeyIsRead) {
  std::string path = tokenFile("s3cret-token\n");
  Config config = parse(
      "admin:\n  address: \"127.0.0.1:9901\"\n  allowed_hosts: [Proxy.Internal., "
      "reverse-proxy]\n  token_file: " +
      path + "\n  read_only_address: \":9902\"\n");
  EXPECT_EQ(config.admin_address.toString(), "127.0.0.1:9901");
  EXPECT_THAT(config.admin.allowed_hosts, ElementsAre("proxy.internal", "reverse-proxy"));
  EXPECT_EQ(config.admin.token_file, path);
  // One trailing line break dropped: `echo token > file` works.
  EXPECT_EQ(config.admin.token, "s3cret-token");
  ASSERT_TRUE(config.admin.read_only_address.has_value());
  EXPECT_EQ(config.admin.read_only_address->toString(), ":9902");
}

TEST_F(AdminConfigTest, DefaultsAreNoHostsNoTokenNoReadOnlyAddress) {
  Config config = parse("log_level: info\n");
  EXPECT_THAT(config.admin.allowed_hosts, IsEmpty());
  EXPECT_EQ(config.admin.token_file, "");
  EXPECT_EQ(config.admin.token, "");
  EXPECT_FALSE(config.admin.read_only_address.has_value());
}

TEST_F(AdminConfigTest, EmptyTokenFileIsAnErrorNamingTheField) {
  std::string path = tokenFile("\n");
  EXPECT_EQ(errorOf("admin: { token_file: " + path + " }\n"),
            "test.yml:1:22: admin.token_file: expected a file holding the token, found \"" + path +
                "\": empty");
}

TEST_F(AdminConfigTest, TokenWithSpacesIsAnError) {
  std::string path = tokenFile("two words\n");
  EXPECT_THAT(errorOf("admin: { token_file: " + path + " }\n"),
              HasSubstr("admin.token_file: expected a token of visible ASCII characters"));
}

TEST_F(AdminConfigTest, TokenIsReadAgainAtEveryLoad) {
  std::string path = tokenFile("first");
  const std::string yaml = "admin: { token_file: " + path + " }\n";
  EXPECT_EQ(parse(yaml).admin.token, "first");
  std::ofstream(path) << "second";
  EXPECT_EQ(parse(yaml).admin.token, "second");
}

TEST_F(AdminConfigTest, RelativeTokenFileIsBesideTheConfig) {
  std::string path = tokenFile("t");
  Config config =
      parseConfig("admin: { token_file: token }\n", dir_ + "/config.yml", env(), filters_);
  EXPECT_EQ(config.admin.token_file, path);
  EXPECT_EQ(config.admin.token, "t");
}

TEST_F(AdminConfigTest, InternalApiPortLeavesTheRestOfTheBlock) {
  env_["INTERNAL_API_PORT"] = ":9000";
  Config config = parse("admin: { address: \"127.0.0.1:1\", allowed_hosts: [proxy] }\n");
  EXPECT_EQ(config.admin_address.toString(), ":9000");
  EXPECT_THAT(config.admin.allowed_hosts, ElementsAre("proxy"));
}

TEST_F(AdminConfigTest, ListenerOnTheReadOnlyAddressIsAnError) {
  EXPECT_EQ(errorOf(std::string("admin: { read_only_address: \":8020\" }\n") + kTcpCanonical),
            "test.yml:7:14: listeners[0].address: expected an address that does not overlap the "
            "admin read_only_address \":8020\", found \":8020\"");
}

// --- Seed translation details ---

TEST_F(ConfigLoaderTest, SeedTargetsShareClustersByAuthority) {
  filters_ = config_test::httpFilters();
  Config config = parse(R"(http_routes:
  - { target: "http://a:80", host: x, path_prefix: /one }
  - { target: "http://a", host: y }
  - { target: "https://a:80", host: z }
  - { target: "https://[::1]", host: w }
  - { target: "http://a:80/", host: v }
http_config: { port: ":8021" }
)");
  EXPECT_THAT(clusterNames(config), ElementsAre("a:80", "https://a:80", "[::1]:443"));
  EXPECT_TRUE(config.clusters[1].endpoints[0].tls);
  EXPECT_EQ(config.clusters[2].endpoints[0].host, "::1");
  const YAML::Node routes =
      config.listeners[0].filters[0].config["http_filters"][1]["config"]["routes"];
  EXPECT_EQ(routes[1]["cluster"].Scalar(), "a:80");
  EXPECT_EQ(routes[2]["cluster"].Scalar(), "https://a:80");
  EXPECT_THAT(config.warnings, IsEmpty());
}

TEST_F(ConfigLoaderTest, SeedRouteNamesStayUniqueAndDeadRoutesAreReported) {
  filters_ = config_test::httpFilters();
  Config config = parse(R"(http_routes:
  - { target: "http://a:1", host: x, path_prefix: /p }
  - { target: "http://a:2", host: x, path_prefix: /p }
  - { target: "http://a:3", host: X, path_prefix: /pq }
  - { target: "http://a:4", host: y, path_prefix: /p }
http_config: { port: ":8021" }
)");
  const YAML::Node routes =
      config.listeners[0].filters[0].config["http_filters"][1]["config"]["routes"];
  EXPECT_EQ(routes[0]["name"].Scalar(), "x/p");
  EXPECT_EQ(routes[1]["name"].Scalar(), "x/p_2");
  EXPECT_EQ(routes[2]["name"].Scalar(), "X/pq");
  EXPECT_EQ(routes[3]["name"].Scalar(), "y/p");
  EXPECT_THAT(config.warnings,
              ElementsAre("test.yml:3:5: http_routes[1]: this route never matches: "
                          "http_routes[0] comes first with the same host and path_prefix \"/p\"",
                          "test.yml:4:5: http_routes[2]: this route never matches: "
                          "http_routes[0] comes first with the same host and path_prefix \"/p\""));
}

TEST_F(ConfigLoaderTest, SeedTargetPathIsIgnoredWithAWarning) {
  filters_ = config_test::httpFilters();
  Config config = parse(R"(http_routes:
  - { target: "http://a:1/api?x=1", host: x }
http_config: { port: ":8021" }
)");
  EXPECT_THAT(clusterNames(config), ElementsAre("a:1"));
  EXPECT_THAT(config.warnings,
              ElementsAre("test.yml:2:15: http_routes[0].target: the target's path \"/api?x=1\" "
                          "is ignored, as the Go program did; requests keep their own path"));
}

TEST_F(ConfigLoaderTest, SeedRouteWithoutHostOrPrefixMatchesEverything) {
  filters_ = config_test::httpFilters();
  Config config = parse(R"(http_routes:
  - target: "http://a:1"
    path_prefix: ""
http_config: { port: ":8021" }
)");
  const YAML::Node route =
      config.listeners[0].filters[0].config["http_filters"][1]["config"]["routes"][0];
  EXPECT_TRUE(sameYaml(route, YAML::Load("{name: /, prefix: /, cluster: \"a:1\"}")))
      << YAML::Dump(route);
}

TEST_F(ConfigLoaderTest, SeedHttpConfigWithoutRoutesStillListens) {
  filters_ = config_test::httpFilters();
  Config config = parse("http_config: { port: \":8021\", shutdown_timeout: 250ms }\n");
  EXPECT_EQ(config.shutdown_timeout, milliseconds(250));
  ASSERT_EQ(config.listeners.size(), 1u);
  EXPECT_EQ(config.listeners[0].filters[0].config["http_filters"][1]["config"]["routes"].size(),
            0u);
  EXPECT_THAT(config.clusters, IsEmpty());
}

TEST_F(ConfigLoaderTest, SeedTcpOnly) {
  Config config = parse("tcp: { port: \":8020\", target: \"[::1]:8080\" }\nlog_level: log\n");
  EXPECT_TRUE(config.seed_form);
  EXPECT_EQ(config.log_level, "info");
  EXPECT_THAT(clusterNames(config), ElementsAre("[::1]:8080"));
  ASSERT_EQ(config.listeners.size(), 1u);
  EXPECT_THAT(config.warnings, IsEmpty());
}

TEST_F(ConfigLoaderTest, SeedListenerWithAMissingFilterIsSkipped) {
  filters_ = NetworkFilterRegistry();
  config_test::addFilter(filters_, "tcp_proxy", true);
  Config config = parse("tcp: { port: \":8020\", target: \"localhost:8080\" }\n");
  EXPECT_THAT(config.listeners, IsEmpty());
  EXPECT_THAT(config.clusters, IsEmpty());
  EXPECT_THAT(config.warnings,
              ElementsAre("test.yml:1:1: tcp: filter stats is not in this build; the listener on "
                          ":8020 is skipped"));
}

// --- Errors ---

TEST_F(ConfigLoaderTest, UnreadableFile) {
  EXPECT_THROW(
      {
        try {
          loadConfigFile(kTestdata + "missing.yml", env(), filters_);
        } catch (const ConfigFileError& error) {
          EXPECT_EQ(std::string(error.what()),
                    kTestdata + "missing.yml: cannot read: No such file or directory");
          throw;
        }
      },
      ConfigFileError);
  try {
    loadConfigFile(kTestdata, env(), filters_);
    ADD_FAILURE() << "a directory loaded";
  } catch (const ConfigFileError& error) {
    EXPECT_EQ(std::string(error.what()),
              kTestdata + ": not a regular file (a directory); give the path of a config file");
  }
}

std::string loadError(const std::string& path, const NetworkFilterRegistry& filters) {
  try {
    loadConfigFile(path, {}, filters);
  } catch (const ConfigFileError& error) {
    return error.what();
  }
  return "(loaded)";
}

// A device or FIFO could be read forever or block the main thread: refused at once, in
// one line naming the file.
TEST_F(ConfigLoaderTest, NotARegularFileIsRefused) {
  EXPECT_EQ(loadError("/dev/zero", filters_),
            "/dev/zero: not a regular file (a device); give the path of a config file");
  char dir[] = "/tmp/config_loader_fifo_XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string fifo = std::string(dir) + "/config.yml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // No writer: the open must not wait for one.
  EXPECT_EQ(loadError(fifo, filters_),
            fifo + ": not a regular file (a FIFO); give the path of a config file");
  ::unlink(fifo.c_str());
  ::rmdir(dir);
}

TEST_F(ConfigLoaderTest, OversizedFileIsRefusedBeforeItIsRead) {
  char path[] = "/tmp/config_loader_big_XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  // Sparse: no 16 MiB written.
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kMaxConfigFileBytes + 1)), 0);
  ::close(fd);
  EXPECT_EQ(loadError(path, filters_),
            std::string(path) + ": file too large: " + std::to_string(kMaxConfigFileBytes + 1) +
                " bytes, at most " + std::to_string(kMaxConfigFileBytes));
  ::unlink(path);
}

// Whatever the bytes, loading ends in a config or a one-line ConfigFileError, never in another
// exception: every prefix of the fixtures is a broken config of some kind.
TEST_F(ConfigLoaderTest, TruncatedFilesOnlyEverFailWithConfigFileError) {
  filters_ = config_test::httpFilters();
  for (const char* file : {"example-config.yml", "canonical-example.yml"}) {
    std::ifstream in(kTestdata + file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(text.empty()) << file;
    for (size_t size = 0; size <= text.size(); ++size) {
      try {
        parse(text.substr(0, size));
      } catch (const ConfigFileError& error) {
        EXPECT_EQ(std::string(error.what()).find('\n'), std::string::npos) << error.what();
      } catch (const std::exception& error) {
        ADD_FAILURE() << file << " cut at " << size << ": " << error.what();
      }
    }
  }
}

TEST_F(ConfigLoaderTest, FormatConfigErrorPrefixesTheFieldAndKeepsOneLine) {
  registry::ConfigError error(YAML::Mark::null_mark(), "idle_timeout", "bad\nvalue");
  YAML::Mark mark;
  mark.line = 9;
  mark.column = 4;
  EXPECT_EQ(formatConfigError("f.yml", error, "listeners[0].filters[1].config", mark),
            "f.yml:10:5: listeners[0].filters[1].config.idle_timeout: bad\\nvalue");
  EXPECT_EQ(formatConfigError("f.yml", error), "f.yml: idle_timeout: bad\\nvalue");
  registry::ConfigError indexed(mark, "[2]", "m");
  EXPECT_EQ(formatConfigError("f.yml", indexed, "routes"), "f.yml:10:5: routes[2]: m");
  registry::ConfigError whole(mark, "", "m");
  EXPECT_EQ(formatConfigError("f.yml", whole, "a.config"), "f.yml:10:5: a.config: m");
}

TEST_F(ConfigLoaderTest, ErrorsNeverSpanLines) {
  std::string error = errorOf("log_level: \"de\\nbug\"");
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_THAT(error, HasSubstr("found \"de\\nbug\""));
}

TEST_F(ConfigLoaderTest, UnknownFilterListsTheRegisteredOnes) {
  EXPECT_EQ(errorOf(R"(listeners:
  - address: ":8020"
    filters:
      - name: tcp_proxi
)"),
            "test.yml:4:9: listeners[0].filters[0].name: unknown filter, expected one of: stats, "
            "tcp_proxy, test_plain, test_terminal, found \"tcp_proxi\"");
}

struct ErrorCase {
  const char* name;
  const char* yaml;
  const char* error;  // after "test.yml:"
};

class ConfigErrorTest : public ConfigLoaderTest, public testing::WithParamInterface<ErrorCase> {};

TEST_P(ConfigErrorTest, IsOneLineWithPositionAndField) {
  EXPECT_EQ(errorOf(GetParam().yaml), std::string("test.yml:") + GetParam().error);
}

const ErrorCase kErrorCases[] = {
    // Documents.
    {"YamlSyntax", "a: [\n", "2:1: (yaml): end of sequence flow not found"},
    {"EmptyDocument", "# nothing\n",
     "1:1: (top level): expected a map of settings, found an empty document"},
    {"TwoDocuments", "log_level: info\n---\nlog_level: info\n",
     "3:1: (top level): expected one YAML document, found 2"},
    // Found by the config fuzz target: yaml-cpp's LoadAll made empty documents from these
    // forever, without reading a byte, until memory ran out.
    {"StrayCommaStartsTheFile", ", x\n", "1:1: (yaml): expected a YAML node, found \",\""},
    {"StrayCommaAfterFlowMap",
     ", host: v }\nhttp_config: { port: ", "1:1: (yaml): expected a YAML node, found \",\""},
    {"ScalarDocument", "hello\n", "1:1: (top level): expected a map of settings, found \"hello\""},
    // Unknown keys, at every level.
    {"UnknownTopLevelKey", "log_level: info\nlistener: []\n",
     "2:1: listener: unknown field, expected one of: admin, log_level, workers, "
     "shutdown_timeout, clusters, listeners, access_log, plugins"},
    {"UnknownAdminKey", "admin: { adress: \":1\" }\n",
     "1:10: admin.adress: unknown field, expected one of: address, allowed_hosts, token_file, "
     "read_only_address"},
    {"UnknownClusterKey", "clusters:\n  - { name: a, endpoints: [\"a:1\"], timeout: 1s }\n",
     "2:36: clusters[0].timeout: unknown field, expected one of: name, endpoints, lb_policy, "
     "connect_timeout, passive_health, dns_refresh_interval, tls"},
    {"UnknownListenerKey",
     "listeners:\n  - address: \":1\"\n    port: 1\n    filters: [{name: test_terminal}]\n",
     "3:5: listeners[0].port: unknown field, expected one of: name, address, max_connections, "
     "filters"},
    {"UnknownFilterKey",
     "listeners:\n  - address: \":1\"\n    filters: [{name: test_terminal, typed_config: {}}]\n",
     "3:37: listeners[0].filters[0].typed_config: unknown field, expected one of: name, config"},
    {"UnknownSeedTopLevelKey", "tcp: { port: \":1\", target: \"a:2\" }\nhttp_route: []\n",
     "2:1: http_route: unknown field, expected one of: tcp, http_routes, http_config, "
     "log_level, plugins"},
    {"UnknownTcpKey", "tcp: { port: \":1\", target: \"a:2\", host: x }\n",
     "1:35: tcp.host: unknown field, expected one of: port, target"},
    {"UnknownHttpConfigKey", "http_config: { port: \":1\", read_timeout: 1s }\n",
     "1:28: http_config.read_timeout: unknown field, expected one of: port, shutdown_timeout"},
    {"UnknownRouteKey",
     "http_routes:\n  - target: \"http://a\"\n    prefix: /x\nhttp_config: { port: \":1\" }\n",
     "3:5: http_routes[0].prefix: unknown field, expected one of: target, host, path_prefix, "
     "strip_path_prefix"},
    {"MixedForms", "tcp: { port: \":1\", target: \"a:2\" }\nworkers: 2\n",
     "2:1: workers: expected only the seed form's keys (tcp, http_routes, http_config, "
     "log_level, plugins) beside tcp, found the canonical form's workers"},
    // Top-level settings.
    {"BadLogLevel", "log_level: verbose\n",
     "1:12: log_level: expected debug, info (or log), warn or error, found \"verbose\""},
    {"WorkersZero", "workers: 0\n",
     "1:10: workers: expected \"auto\" or a whole number from 1 to 256, found \"0\""},
    {"WorkersTooMany", "workers: 257\n",
     "1:10: workers: expected \"auto\" or a whole number from 1 to 256, found \"257\""},
    {"WorkersWord", "workers: many\n",
     "1:10: workers: expected \"auto\" or a whole number from 1 to 256, found \"many\""},
    {"BadAdminAddress", "admin:\n  address: localhost\n",
     "2:12: admin.address: expected an address such as \":8020\", \"127.0.0.1:8020\" or "
     "\"[::1]:8020\", found \"localhost\""},
    {"AdminNotAMap", "admin: \":1\"\n", "1:8: admin: expected a map, found \":1\""},
    {"AdminAllowedHostWithPort", "admin: { allowed_hosts: [\"proxy:42007\"] }\n",
     "1:26: admin.allowed_hosts[0]: expected a host name without port such as "
     "\"proxy.internal\", found \"proxy:42007\""},
    {"AdminAllowedHostsNotAList", "admin: { allowed_hosts: proxy }\n",
     "1:25: admin.allowed_hosts: expected a list, found \"proxy\""},
    {"AdminAllowedHostNotAName", "admin: { allowed_hosts: [\"a b\"] }\n",
     "1:26: admin.allowed_hosts[0]: expected a host name without port such as "
     "\"proxy.internal\", found \"a b\""},
    {"AdminTokenFileEmptyPath", "admin: { token_file: \"\" }\n",
     "1:22: admin.token_file: expected the path of a file holding the token, found \"\""},
    {"AdminTokenFileMissing", "admin: { token_file: /nonexistent/admin-token }\n",
     "1:22: admin.token_file: expected a readable file holding the token, found "
     "\"/nonexistent/admin-token\": No such file or directory"},
    {"AdminReadOnlyAddressBad", "admin: { read_only_address: 42007 }\n",
     "1:29: admin.read_only_address: expected an address such as \":8020\", \"127.0.0.1:8020\" "
     "or \"[::1]:8020\", found \"42007\""},
    {"AdminReadOnlyAddressOverlapsAdmin",
     "admin: { address: \"127.0.0.1:9901\", read_only_address: \":9901\" }\n",
     "1:56: admin.read_only_address: expected an address that does not overlap admin.address "
     "\"127.0.0.1:9901\", found \":9901\""},
    // Clusters.
    {"ClustersNotAList", "clusters: {}\n", "1:11: clusters: expected a list, found a map"},
    {"ClusterNotAMap", "clusters: [a]\n",
     "1:12: clusters[0]: expected a cluster map with name and endpoints, found \"a\""},
    {"ClusterWithoutName", "clusters:\n  - endpoints: [\"a:1\"]\n",
     "2:5: clusters[0].name: expected a non-empty string, found nothing"},
    {"DuplicateClusterName",
     "clusters:\n  - { name: a, endpoints: [\"a:1\"] }\n  - { name: a, endpoints: [\"b:1\"] }\n",
     "3:13: clusters[1].name: expected a name no other cluster has, found \"a\", the name of "
     "clusters[0]"},
    {"ClusterWithoutEndpoints", "clusters:\n  - name: a\n",
     "2:5: clusters[0].endpoints: expected a non-empty list, found nothing"},
    {"ClusterWithEmptyEndpoints", "clusters:\n  - { name: a, endpoints: [] }\n",
     "2:27: clusters[0].endpoints: expected a non-empty list, found an empty list"},
    {"EndpointWithoutPort", "clusters:\n  - { name: a, endpoints: [\"a:1\", localhost] }\n",
     "2:35: clusters[0].endpoints[1]: expected \"host:port\", \"[v6]:port\" or an http:// or "
     "https:// URL, found \"localhost\""},
    {"EndpointPortZero", "clusters:\n  - { name: a, endpoints: [\"a:0\"] }\n",
     "2:28: clusters[0].endpoints[0]: expected \"host:port\", \"[v6]:port\" or an http:// or "
     "https:// URL, found \"a:0\""},
    {"EndpointUnbracketedIpv6", "clusters:\n  - { name: a, endpoints: [\"::1:80\"] }\n",
     "2:28: clusters[0].endpoints[0]: expected \"host:port\", \"[v6]:port\" or an http:// or "
     "https:// URL, found \"::1:80\""},
    {"EndpointNotAString", "clusters:\n  - { name: a, endpoints: [[a]] }\n",
     "2:28: clusters[0].endpoints[0]: expected an endpoint such as \"127.0.0.1:8080\", found a "
     "list"},
    {"EndpointBadScheme", "clusters:\n  - { name: a, endpoints: [\"ftp://a:21\"] }\n",
     "2:28: clusters[0].endpoints[0]: expected scheme http or https, found \"ftp\""},
    {"EndpointWithPath", "clusters:\n  - { name: a, endpoints: [\"http://a/api\"] }\n",
     "2:28: clusters[0].endpoints[0]: expected an endpoint URL without a path, query or "
     "fragment, found \"http://a/api\""},
    {"EndpointUrlWithoutHost", "clusters:\n  - { name: a, endpoints: [\"https://:8443\"] }\n",
     "2:28: clusters[0].endpoints[0]: expected a host and an optional port 1-65535 after "
     "https://, found \"https://:8443\""},
    {"EndpointUrlWithUserInfo", "clusters:\n  - { name: a, endpoints: [\"http://u@a\"] }\n",
     "2:28: clusters[0].endpoints[0]: expected a host and an optional port 1-65535 after "
     "http://, found \"http://u@a\""},
    {"BadLbPolicy", "clusters:\n  - { name: a, endpoints: [\"a:1\"], lb_policy: random }\n",
     "2:47: clusters[0].lb_policy: expected round_robin or least_request, found \"random\""},
    {"ZeroConnectTimeout",
     "clusters:\n  - { name: a, endpoints: [\"a:1\"], connect_timeout: 0s }\n",
     "2:53: clusters[0].connect_timeout: expected a duration above zero, found \"0s\""},
    {"BadConnectTimeout", "clusters:\n  - { name: a, endpoints: [\"a:1\"], connect_timeout: 5 }\n",
     "2:53: clusters[0].connect_timeout: expected a duration such as \"5s\", \"250ms\" or "
     "\"1m30s\", found \"5\""},
    {"PassiveHealthNotAMap",
     "clusters:\n  - { name: a, endpoints: [\"a:1\"], passive_health: 5 }\n",
     "2:52: clusters[0].passive_health: expected a map with consecutive_failures and "
     "ejection_time, found \"5\""},
    {"PassiveHealthUnknownKey",
     "clusters:\n  - { name: a, endpoints: [\"a:1\"], passive_health: { failures: 5 } }\n",
     "2:54: clusters[0].passive_health.failures: unknown field, expected one of: "
     "consecutive_failures, ejection_time"},
    {"PassiveHealthTooManyFailures",
     "clusters:\n  - { name: a, endpoints: [\"a:1\"],\n"
     "      passive_health: { consecutive_failures: 1001 } }\n",
     "3:47: clusters[0].passive_health.consecutive_failures: expected a whole number from 0 to "
     "1000, found \"1001\""},
    {"PassiveHealthNegativeFailures",
     "clusters:\n  - { name: a, endpoints: [\"a:1\"],\n"
     "      passive_health: { consecutive_failures: -1 } }\n",
     "3:47: clusters[0].passive_health.consecutive_failures: expected a whole number from 0 to "
     "1000, found \"-1\""},
    {"PassiveHealthZeroEjection",
     "clusters:\n  - { name: a, endpoints: [\"a:1\"],\n"
     "      passive_health: { ejection_time: 0s } }\n",
     "3:40: clusters[0].passive_health.ejection_time: expected a duration above zero, found "
     "\"0s\""},
    {"DnsRefreshTooShort",
     "clusters:\n  - { name: a, endpoints: [\"a:1\"], dns_refresh_interval: 10ms }\n",
     "2:58: clusters[0].dns_refresh_interval: expected 0 (never) or a duration of at least "
     "100ms, found \"10ms\""},
    {"DnsRefreshNotADuration",
     "clusters:\n  - { name: a, endpoints: [\"a:1\"], dns_refresh_interval: often }\n",
     "2:58: clusters[0].dns_refresh_interval: expected a duration such as \"5s\", \"250ms\" or "
     "\"1m30s\", found \"often\""},
    // Cluster TLS settings.
    {"TlsNotAMap", "clusters:\n  - name: a\n    endpoints: [\"https://a\"]\n    tls: yes\n",
     "4:10: clusters[0].tls: expected a map with ca_file, sni and verify, found \"yes\""},
    {"UnknownTlsKey",
     "clusters:\n  - name: a\n    endpoints: [\"https://a\"]\n    tls: { ca: x }\n",
     "4:12: clusters[0].tls.ca: unknown field, expected one of: ca_file, sni, verify"},
    {"TlsCaFileMissing",
     "clusters:\n  - name: a\n    endpoints: [\"https://a\"]\n"
     "    tls: { ca_file: /nonexistent/ca.pem }\n",
     "4:21: clusters[0].tls.ca_file: expected a readable PEM file of CA certificates, found "
     "\"/nonexistent/ca.pem\": No such file or directory"},
    {"TlsCaFileIsADirectory",
     "clusters:\n  - name: a\n    endpoints: [\"https://a\"]\n    tls: { ca_file: / }\n",
     "4:21: clusters[0].tls.ca_file: expected a readable PEM file of CA certificates, found "
     "\"/\": not a regular file"},
    {"TlsCaFileEmpty",
     "clusters:\n  - name: a\n    endpoints: [\"https://a\"]\n    tls: { ca_file: \"\" }\n",
     "4:21: clusters[0].tls.ca_file: expected the path of a PEM file of CA certificates, found "
     "\"\""},
    {"TlsSniEmpty",
     "clusters:\n  - name: a\n    endpoints: [\"https://a\"]\n    tls: { sni: \"\" }\n",
     "4:17: clusters[0].tls.sni: expected a server name such as \"api.example.com\", found \"\""},
    {"TlsSniWithASpace",
     "clusters:\n  - name: a\n    endpoints: [\"https://a\"]\n    tls: { sni: \"a b\" }\n",
     "4:17: clusters[0].tls.sni: expected a server name such as \"api.example.com\", found "
     "\"a b\""},
    {"TlsVerifyNotABool",
     "clusters:\n  - name: a\n    endpoints: [\"https://a\"]\n    tls: { verify: maybe }\n",
     "4:20: clusters[0].tls.verify: expected true or false, found \"maybe\""},
    {"TlsWithoutAnHttpsEndpoint",
     "clusters:\n  - name: a\n    endpoints: [\"a:1\", \"http://b\"]\n    tls: { verify: true }\n",
     "4:10: clusters[0].tls: expected an https:// endpoint for these TLS settings to apply to, "
     "found only plain endpoints"},
    // Listeners.
    {"ListenerWithoutAddress", "listeners:\n  - filters: [{name: test_terminal}]\n",
     "2:5: listeners[0].address: expected an address such as \":8020\", found nothing"},
    {"ListenerAddressWithoutColon",
     "listeners:\n  - { address: \"8020\", filters: [{name: test_terminal}] }\n",
     "2:16: listeners[0].address: expected an address such as \":8020\", \"127.0.0.1:8020\" or "
     "\"[::1]:8020\", found \"8020\""},
    {"ListenerAddressBadBracket",
     "listeners:\n  - { address: \"[::1:8020\", filters: [{name: test_terminal}] }\n",
     "2:16: listeners[0].address: expected an address such as \":8020\", \"127.0.0.1:8020\" or "
     "\"[::1]:8020\", found \"[::1:8020\""},
    {"ListenerPortTooLarge",
     "listeners:\n  - { address: \":65536\", filters: [{name: test_terminal}] }\n",
     "2:16: listeners[0].address: expected an address such as \":8020\", \"127.0.0.1:8020\" or "
     "\"[::1]:8020\", found \":65536\""},
    {"ListenerEmptyName",
     "listeners:\n  - { name: \"\", address: \":1\", filters: [{name: test_terminal}] }\n",
     "2:13: listeners[0].name: expected a non-empty name, found \"\""},
    {"DuplicateListenerName",
     "listeners:\n  - { name: a, address: \":1\", filters: [{name: test_terminal}] }\n"
     "  - { name: a, address: \":2\", filters: [{name: test_terminal}] }\n",
     "3:13: listeners[1].name: expected a name no other listener has, found \"a\", the name of "
     "listeners[0]"},
    {"DuplicateDerivedListenerName",
     "listeners:\n  - { address: \"127.0.0.1:1\", filters: [{name: test_terminal}] }\n"
     "  - { address: \"127.0.0.2:1\", filters: [{name: test_terminal}] }\n",
     "3:16: listeners[1].name: expected a name no other listener has, found \"listener_1\" "
     "(derived from the port; give the listeners names), the name of listeners[0]"},
    {"MaxConnectionsZero",
     "listeners:\n  - { address: \":1\", max_connections: 0, filters: [{name: test_terminal}] }\n",
     "2:39: listeners[0].max_connections: expected a whole number from 1 to 1000000, found "
     "\"0\""},
    {"MaxConnectionsTooMany",
     "listeners:\n  - { address: \":1\", max_connections: 1000001, filters: [{name: "
     "test_terminal}] }\n",
     "2:39: listeners[0].max_connections: expected a whole number from 1 to 1000000, found "
     "\"1000001\""},
    {"ListenerWithoutFilters", "listeners:\n  - address: \":1\"\n",
     "2:5: listeners[0].filters: expected a non-empty list, found nothing"},
    {"ListenerWithEmptyFilters", "listeners:\n  - { address: \":1\", filters: [] }\n",
     "2:31: listeners[0].filters: expected a non-empty list, found an empty list"},
    {"FilterWithoutName", "listeners:\n  - { address: \":1\", filters: [{config: {}}] }\n",
     "2:32: listeners[0].filters[0].name: expected a non-empty string, found nothing"},
    {"TerminalFilterNotLast",
     "listeners:\n  - address: \":1\"\n    filters:\n      - name: test_terminal\n"
     "      - name: test_plain\n",
     "4:9: listeners[0].filters[0].name: terminal filter test_terminal must be the last in the "
     "chain, found it before test_plain"},
    {"TwoTerminalFilters",
     "listeners:\n  - address: \":1\"\n    filters:\n      - name: test_plain\n"
     "      - name: tcp_proxy\n      - name: test_terminal\n",
     "5:9: listeners[0].filters[1].name: terminal filter tcp_proxy must be the last in the "
     "chain, found it before test_terminal"},
    {"NoTerminalFilter",
     "listeners:\n  - address: \":1\"\n    filters:\n      - name: stats\n"
     "      - name: test_plain\n",
     "5:9: listeners[0].filters[1].name: expected a terminal filter (tcp_proxy, test_terminal) "
     "last in the chain, found \"test_plain\""},
    {"WildcardOverlapsHost",
     "listeners:\n  - { name: a, address: \":8020\", filters: [{name: test_terminal}] }\n"
     "  - { name: b, address: \"127.0.0.1:8020\", filters: [{name: test_terminal}] }\n",
     "3:25: listeners[1].address: expected an address that does not overlap listener \"a\" "
     "(listeners[0], \":8020\"), found \"127.0.0.1:8020\""},
    {"SameHostOverlaps",
     "listeners:\n  - { name: a, address: \"[::1]:8020\", filters: [{name: test_terminal}] }\n"
     "  - { name: b, address: \"[::1]:8020\", filters: [{name: test_terminal}] }\n",
     "3:25: listeners[1].address: expected an address that does not overlap listener \"a\" "
     "(listeners[0], \"[::1]:8020\"), found \"[::1]:8020\""},
    {"AnyAddressOverlapsHost",
     "listeners:\n  - { name: a, address: \"10.0.0.1:80\", filters: [{name: test_terminal}] }\n"
     "  - { name: b, address: \"0.0.0.0:80\", filters: [{name: test_terminal}] }\n",
     "3:25: listeners[1].address: expected an address that does not overlap listener \"a\" "
     "(listeners[0], \"10.0.0.1:80\"), found \"0.0.0.0:80\""},
    {"ListenerOnDefaultAdminPort",
     "listeners:\n  - { address: \"127.0.0.1:42007\", filters: [{name: test_terminal}] }\n",
     "2:16: listeners[0].address: expected an address that does not overlap the admin address "
     "\"127.0.0.1:42007\", found \"127.0.0.1:42007\""},
    // tcp_proxy.
    {"TcpProxyUnknownCluster",
     "clusters:\n  - { name: a, endpoints: [\"a:1\"] }\nlisteners:\n  - address: \":1\"\n"
     "    filters: [{ name: tcp_proxy, config: { cluster: b } }]\n",
     "5:53: listeners[0].filters[0].config.cluster: unknown cluster, expected one of: a, found "
     "\"b\""},
    {"TcpProxyToItself",
     "clusters:\n  - { name: self, endpoints: [\"127.0.0.1:8020\"] }\nlisteners:\n"
     "  - { name: tcp, address: \":8020\", filters: [{ name: tcp_proxy, config: { cluster: self "
     "} }] }\n",
     "4:84: listeners[0].filters[0].config.cluster: expected a cluster outside this proxy, found "
     "\"self\", whose endpoint 127.0.0.1:8020 is this proxy's listener \"tcp\" (:8020)"},
    {"TcpProxyToAnotherListener",
     "clusters:\n  - { name: loop, endpoints: [\"10.0.0.1:1\", \"localhost:9000\"] }\n"
     "listeners:\n"
     "  - { name: a, address: \":8020\", filters: [{ name: tcp_proxy, config: { cluster: loop "
     "} }] }\n"
     "  - { name: b, address: \"127.0.0.1:9000\", filters: [{name: test_terminal}] }\n",
     "4:82: listeners[0].filters[0].config.cluster: expected a cluster outside this proxy, found "
     "\"loop\", whose endpoint localhost:9000 is this proxy's listener \"b\" (127.0.0.1:9000)"},
    {"TcpProxyToAnHttpsCluster",
     "clusters:\n  - { name: a, endpoints: [\"b:1\", \"https://a\"] }\nlisteners:\n"
     "  - address: \":1\"\n    filters: [{ name: tcp_proxy, config: { cluster: a } }]\n",
     "5:53: listeners[0].filters[0].config.cluster: expected a cluster of plain TCP endpoints "
     "(tcp_proxy does not speak TLS), found \"a\", whose endpoint https://a:443 is https"},
    // Seed form.
    {"SeedTcpPortWithoutColon", "tcp:\n  port: 8020\n  target: \"localhost:8080\"\n",
     "2:9: tcp.port: expected \":\" and a port number such as \":8020\", found \"8020\""},
    {"SeedTcpPortWithHost", "tcp:\n  port: \"127.0.0.1:8020\"\n  target: \"localhost:8080\"\n",
     "2:9: tcp.port: expected \":\" and a port number such as \":8020\", found "
     "\"127.0.0.1:8020\""},
    {"SeedTcpPortMissing", "tcp:\n  target: \"localhost:8080\"\n",
     "2:3: tcp.port: expected a non-empty string, found nothing"},
    {"SeedTcpTargetMissing", "tcp:\n  port: \":8020\"\n",
     "2:3: tcp.target: expected a non-empty string, found nothing"},
    {"SeedTcpTargetWithoutPort", "tcp:\n  port: \":8020\"\n  target: localhost\n",
     "3:11: tcp.target: expected \"host:port\" such as \"localhost:8080\", found \"localhost\""},
    {"SeedTcpTargetIsTcpListener", "tcp:\n  port: \":8020\"\n  target: \"127.0.0.1:8020\"\n",
     "3:11: tcp.target: expected a target outside this proxy, found \"127.0.0.1:8020\", which "
     "is the proxy's own TCP listener (tcp.port)"},
    {"SeedTcpTargetIsHttpListener",
     "tcp:\n  port: \":8020\"\n  target: \"localhost:8021\"\nhttp_config:\n  port: \":8021\"\n",
     "3:11: tcp.target: expected a target outside this proxy, found \"localhost:8021\", which "
     "is the proxy's own HTTP listener (http_config.port)"},
    {"SeedSamePorts",
     "tcp:\n  port: \":8020\"\n  target: \"a:1\"\nhttp_config:\n  port: \":8020\"\n",
     "5:9: http_config.port: expected a port different from tcp.port, found \":8020\" for both"},
    {"SeedRoutesWithoutHttpPort",
     "http_routes:\n  - target: \"http://a\"\nhttp_config:\n  shutdown_timeout: 5s\n",
     "4:3: http_config.port: expected a port such as \":8021\" for the http_routes, found "
     "nothing"},
    {"SeedRoutesWithoutHttpConfig", "http_routes:\n  - target: \"http://a\"\n",
     "2:3: http_config.port: expected a port such as \":8021\" for the http_routes, found "
     "nothing"},
    {"SeedRoutesNotAList", "http_routes: { target: x }\n",
     "1:14: http_routes: expected a list, found a map"},
    {"SeedRouteWithoutTarget", "http_routes:\n  - host: a\nhttp_config: { port: \":8021\" }\n",
     "2:5: http_routes[0].target: expected a non-empty string, found nothing"},
    {"SeedRouteTargetNotUrl",
     "http_routes:\n  - target: \"a:80\"\nhttp_config: { port: \":8021\" }\n",
     "2:13: http_routes[0].target: expected an http:// or https:// URL, found \"a:80\""},
    {"SeedRouteBadScheme",
     "http_routes:\n  - target: \"ws://a\"\nhttp_config: { port: \":8021\" }\n",
     "2:13: http_routes[0].target: expected scheme http or https, found \"ws\""},
    {"SeedRouteEmptyHost",
     "http_routes:\n  - target: \"http:///x\"\nhttp_config: { port: \":8021\" }\n",
     "2:13: http_routes[0].target: expected a host and an optional port 1-65535 after http://, "
     "found \"http:///x\""},
    {"SeedRoutePrefixWithoutSlash",
     "http_routes:\n  - target: \"http://a\"\n    path_prefix: users\n"
     "http_config: { port: \":8021\" }\n",
     "3:18: http_routes[0].path_prefix: expected a path starting with \"/\", found \"users\""},
    {"SeedRouteHostNotAHostName",
     "http_routes:\n  - target: \"http://a\"\n    host: \"admin\\rhost\"\n"
     "http_config: { port: \":8021\" }\n",
     "3:11: http_routes[0].host: expected a host name such as \"example.com\", found "
     "\"admin\\rhost\""},
    {"SeedRoutePrefixWithSpace",
     "http_routes:\n  - target: \"http://a\"\n    path_prefix: \"/a b\"\n"
     "http_config: { port: \":8021\" }\n",
     "3:18: http_routes[0].path_prefix: expected a path of visible ASCII characters "
     "(percent-encode the others), found \"/a b\""},
    {"SeedRoutePrefixWithNulIsEscapedInTheMessage",
     "http_routes:\n  - target: \"http://a\"\n    path_prefix: \"/a\\0b\\tc\"\n"
     "http_config: { port: \":8021\" }\n",
     "3:18: http_routes[0].path_prefix: expected a path of visible ASCII characters "
     "(percent-encode the others), found \"/a\\x00b\\x09c\""},
    {"SeedRouteStripNotBool",
     "http_routes:\n  - target: \"http://a\"\n    strip_path_prefix: yes\n"
     "http_config: { port: \":8021\" }\n",
     "3:24: http_routes[0].strip_path_prefix: expected true or false, found \"yes\""},
    {"SeedBadShutdownTimeout", "http_config:\n  port: \":8021\"\n  shutdown_timeout: soon\n",
     "3:21: http_config.shutdown_timeout: expected a duration such as \"5s\", \"250ms\" or "
     "\"1m30s\", found \"soon\""},
    {"SeedBadLogLevel", "tcp: { port: \":1\", target: \"a:2\" }\nlog_level: trace\n",
     "2:12: log_level: expected debug, info (or log), warn or error, found \"trace\""},
};

INSTANTIATE_TEST_SUITE_P(Rules, ConfigErrorTest, testing::ValuesIn(kErrorCases),
                         [](const testing::TestParamInfo<ErrorCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace proxy::server
