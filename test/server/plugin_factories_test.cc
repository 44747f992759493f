#include "server/plugin_factories.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "test/mocks/registry/mocks.h"

namespace proxy::server {
namespace {

class NamedHttpFactory final : public registry::NamedHttpFilterFactory {
 public:
  explicit NamedHttpFactory(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  registry::FilterCapabilities capabilities() const override { return {}; }
  registry::HttpFilterFactoryCb createFilterFactory(const YAML::Node&,
                                                    registry::FactoryContext&) override {
    return [](http::FilterChainFactoryCallbacks&) {};
  }

 private:
  std::string name_;
};

std::unique_ptr<registry::NamedNetworkFilterFactory> network(const std::string& name) {
  return std::make_unique<testing::NiceMock<registry::MockNamedNetworkFilterFactory>>(name);
}

TEST(PluginFactoriesTest, KeepsWhatIsRegisteredInOrder) {
  PluginFactories factories;
  factories.addNetworkFilter(network("b"));
  factories.addNetworkFilter(network("a"));
  // Network and HTTP filters are separate name spaces, as in the registries.
  factories.addHttpFilter(std::make_unique<NamedHttpFactory>("a"));
  EXPECT_EQ(factories.problem(), "");
  ASSERT_EQ(factories.network.size(), 2u);
  EXPECT_EQ(factories.network[0]->name(), "b");
  EXPECT_EQ(factories.network[1]->name(), "a");
  ASSERT_EQ(factories.http.size(), 1u);
}

TEST(PluginFactoriesTest, NullFactoryIsAProblem) {
  PluginFactories factories;
  factories.addHttpFilter(nullptr);
  EXPECT_EQ(factories.problem(), "registered a null HTTP filter factory");
  EXPECT_TRUE(factories.http.empty());
}

TEST(PluginFactoriesTest, EmptyNameIsAProblem) {
  PluginFactories factories;
  factories.addNetworkFilter(network(""));
  EXPECT_EQ(factories.problem(), "registered a network filter with an empty name");
}

TEST(PluginFactoriesTest, SameNameTwiceIsAProblemAndTheFirstProblemIsKept) {
  PluginFactories factories;
  factories.addHttpFilter(std::make_unique<NamedHttpFactory>("x"));
  factories.addHttpFilter(std::make_unique<NamedHttpFactory>("x"));
  factories.addNetworkFilter(network(""));
  EXPECT_EQ(factories.problem(), "registered the HTTP filter \"x\" twice");
  EXPECT_EQ(factories.http.size(), 1u);
}

}  // namespace
}  // namespace proxy::server
