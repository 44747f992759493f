#include "api/registry/registry.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/upstream/cluster_impl.h"
#include "test/mocks/network/mocks.h"
#include "test/mocks/registry/mocks.h"
#include "test/support/source_dir.h"

using testing::NiceMock;
using testing::Return;

namespace proxy::registry {
namespace {

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (!item.empty()) {
      out.push_back(item);
    }
  }
  return out;
}

// Counts the filters a chain factory installs.
class CountingChainCallbacks : public http::FilterChainFactoryCallbacks {
 public:
  explicit CountingChainCallbacks(int& count) : count_(count) {}
  void addStreamDecoderFilter(http::StreamDecoderFilterSharedPtr) override { ++count_; }
  void addStreamEncoderFilter(http::StreamEncoderFilterSharedPtr) override { ++count_; }
  void addStreamFilter(http::StreamFilterSharedPtr) override { ++count_; }

 private:
  int& count_;
};

// Every filter folder in filters/network/ is a registered factory, and none is registered
// without a folder: the expected list comes from the build, not from this file.
TEST(RegistryTest, RegisteredNetworkFiltersMatchTheBuild) {
  EXPECT_EQ(split(PROXY_BUILT_NETWORK_FILTERS), networkFilters().names());
}

// Each registered filter builds from the minimal.yaml in its folder and installs at least
// one filter on a connection.
TEST(RegistryTest, EveryNetworkFilterBuildsFromItsMinimalConfig) {
  NiceMock<MockFactoryContext> context;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(9);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  upstream::Endpoint endpoint{
      "127.0.0.1", 9, network::Address(reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), false};
  auto cluster = std::make_shared<upstream::ClusterImpl>(
      "test_cluster", std::vector<upstream::Endpoint>{endpoint}, std::chrono::seconds(1));
  ON_CALL(context.cluster_manager_, get(std::string_view("test_cluster")))
      .WillByDefault(Return(cluster));
  for (const std::string& name : networkFilters().names()) {
    SCOPED_TRACE(name);
    std::string path = proxy::test::sourceDir() + "/filters/network/" + name + "/minimal.yaml";
    std::ifstream file(path);
    ASSERT_TRUE(file.good()) << "missing " << path;
    std::stringstream text;
    text << file.rdbuf();
    YAML::Node config = YAML::Load(text.str());
    context.chain_filter_names_ = {name};
    NetworkFilterFactoryCb install;
    ASSERT_NO_THROW(install = networkFilters().get(name)->createFilterFactory(config, context));
    NiceMock<network::MockFilterManager> manager;
    install(manager);
    EXPECT_FALSE(manager.read_filters_.empty() && manager.write_filters_.empty());
  }
}

TEST(RegistryTest, RegisteredHttpFiltersMatchTheBuild) {
  EXPECT_EQ(split(PROXY_BUILT_HTTP_FILTERS), httpFilters().names());
}

// Each registered HTTP filter builds from its folder's minimal.yaml and installs a filter.
TEST(RegistryTest, EveryHttpFilterBuildsFromItsMinimalConfig) {
  NiceMock<MockFactoryContext> context;
  for (const std::string& name : httpFilters().names()) {
    SCOPED_TRACE(name);
    std::string path = proxy::test::sourceDir() + "/filters/http/" + name + "/minimal.yaml";
    std::ifstream file(path);
    ASSERT_TRUE(file.good()) << "missing " << path;
    std::stringstream text;
    text << file.rdbuf();
    context.chain_filter_names_ = {name};
    HttpFilterFactoryCb install;
    ASSERT_NO_THROW(
        install = httpFilters().get(name)->createFilterFactory(YAML::Load(text.str()), context));
    int installed = 0;
    CountingChainCallbacks callbacks(installed);
    install(callbacks);
    EXPECT_GT(installed, 0);
  }
}

TEST(RegistryTest, DuplicateNameIsRefused) {
  Registry<NamedNetworkFilterFactory> registry;
  registry.add(std::make_unique<NiceMock<MockNamedNetworkFilterFactory>>("twice"));
  EXPECT_THROW(registry.add(std::make_unique<NiceMock<MockNamedNetworkFilterFactory>>("twice")),
               std::invalid_argument);
  EXPECT_EQ(nullptr, registry.get("unknown"));
}

}  // namespace
}  // namespace proxy::registry
