#include "server/plugin_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "server/config/config_loader.h"
#include "test/server/config/config_test_util.h"

namespace proxy::server {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;
using testing::IsEmpty;

// The test plugins of test/plugins_testdata/, built next to the test binary.
std::string plugin(const std::string& name) {
  return std::string(PROXY_TEST_PLUGIN_DIR) + "/" + name + ".so";
}

// A stand-in for a built-in HTTP filter, so a plugin can collide with it.
class BuiltInHttpFactory final : public registry::NamedHttpFilterFactory {
 public:
  explicit BuiltInHttpFactory(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  registry::FilterCapabilities capabilities() const override { return {true, false}; }
  registry::HttpFilterFactoryCb createFilterFactory(const YAML::Node&,
                                                    registry::FactoryContext&) override {
    return [](http::FilterChainFactoryCallbacks&) {};
  }

 private:
  std::string name_;
};

// Every test loads into its own registries (never the process-wide ones, which other tests
// read); the libraries themselves stay loaded in the test process, as in the proxy.
class PluginLoaderTest : public testing::Test {
 protected:
  PluginLoaderTest() {
    network_ = config_test::httpFilters();
    http_.add(std::make_unique<BuiltInHttpFactory>("router"));
    scratch_ = std::filesystem::temp_directory_path() /
               ("plugin_loader_test." + std::to_string(::getpid()) + "." +
                testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(scratch_);
  }
  ~PluginLoaderTest() override { std::filesystem::remove_all(scratch_); }

  static PluginConfig entry(const std::string& path, size_t index = 0) {
    PluginConfig config;
    config.path = path;
    config.field = "plugins[" + std::to_string(index) + "]";
    config.mark.line = static_cast<int>(index) + 1;
    config.mark.column = 4;
    return config;
  }

  // The one-line error stage() throws for `plugins`, or "" if it did not throw.
  std::string stageError(const std::vector<PluginConfig>& plugins) {
    try {
      loader_.stage("test.yml", plugins);
    } catch (const ConfigFileError& error) {
      return error.what();
    }
    return "";
  }

  // A copy of a test plugin under another path: the same filter names from another library.
  std::string copyOf(const std::string& name, const std::string& as) {
    std::filesystem::path to = scratch_ / as;
    std::filesystem::copy_file(plugin(name), to);
    return to.string();
  }

  bool pluginFiltersRegistered() const {
    return network_.get("test_plugin_pass") != nullptr ||
           http_.get("test_plugin_header") != nullptr;
  }

  NetworkFilterRegistry network_;
  PluginLoader::HttpRegistry http_;
  PluginLoader loader_{network_, http_};
  std::filesystem::path scratch_;
};

TEST_F(PluginLoaderTest, GoodPluginRegistersBothKindsOfFilter) {
  loader_.stage("test.yml", {entry(plugin("test_plugin"))});
  loader_.commit();
  ASSERT_NE(network_.get("test_plugin_pass"), nullptr);
  ASSERT_NE(http_.get("test_plugin_header"), nullptr);
  EXPECT_EQ(network_.get("test_plugin_pass")->name(), "test_plugin_pass");
  EXPECT_FALSE(network_.get("test_plugin_pass")->capabilities().terminal);
  // Listing it again (the next reload) changes nothing and is not an error.
  loader_.stage("test.yml", {entry(plugin("test_plugin"))});
  loader_.commit();
  EXPECT_NE(http_.get("test_plugin_header"), nullptr);
  EXPECT_THAT(loader_.restartRequired({entry(plugin("test_plugin"))}), IsEmpty());
}

TEST_F(PluginLoaderTest, RollbackTakesTheFiltersOutAndAStageLaterPutsThemBack) {
  loader_.stage("test.yml", {entry(plugin("test_plugin"))});
  EXPECT_TRUE(pluginFiltersRegistered());
  loader_.rollback();
  EXPECT_FALSE(pluginFiltersRegistered());
  loader_.stage("test.yml", {entry(plugin("test_plugin"))});
  EXPECT_NE(network_.get("test_plugin_pass"), nullptr);
  EXPECT_NE(http_.get("test_plugin_header"), nullptr);
  // Staging again without a commit first drops what the previous call staged.
  loader_.stage("test.yml", {});
  EXPECT_FALSE(pluginFiltersRegistered());
}

TEST_F(PluginLoaderTest, MismatchedAbiIsRefusedWithBothVersions) {
  const std::string path = plugin("test_plugin_mismatched");
  EXPECT_EQ(stageError({entry(path)}),
            "test.yml:2:5: plugins[0]: plugin " + path +
                ": ABI mismatch: plugin built for "
                "\"api:0000000000000000;cxx:other-compiler;std:other-stdlib\", proxy is \"" +
                PluginLoader::abiVersion() +
                "\"; rebuild the plugin against this proxy's SDK with the same compiler");
  EXPECT_FALSE(pluginFiltersRegistered());
  // Asked again (a later reload), the same answer: the library is not loaded twice.
  EXPECT_THAT(stageError({entry(path)}), HasSubstr(": ABI mismatch: plugin built for "));
}

TEST_F(PluginLoaderTest, TheProxyAbiNamesApiHashCompilerAndStdlib) {
  const std::string abi = PluginLoader::abiVersion();
  EXPECT_EQ(abi.rfind(std::string("api:") + PROXY_API_HASH + ";cxx:", 0), 0u) << abi;
  EXPECT_THAT(abi, HasSubstr(";std:"));
}

TEST_F(PluginLoaderTest, MissingFileIsRefused) {
  const std::string path = (scratch_ / "absent.so").string();
  EXPECT_EQ(stageError({entry(path)}), "test.yml:2:5: plugins[0]: plugin " + path +
                                           ": cannot read: No such file or directory");
  EXPECT_EQ(stageError({entry(scratch_.string())}), "test.yml:2:5: plugins[0]: plugin " +
                                                        scratch_.string() +
                                                        ": cannot read: not a regular file");
}

TEST_F(PluginLoaderTest, FileThatIsNotALibraryIsRefused) {
  const std::string path = (scratch_ / "text.so").string();
  std::ofstream(path) << "not an ELF file\n";
  EXPECT_THAT(stageError({entry(path)}),
              HasSubstr("plugins[0]: plugin " + path + ": cannot load: "));
}

TEST_F(PluginLoaderTest, LibraryWithoutTheEntrySymbolIsRefused) {
  const std::string path = plugin("test_plugin_no_entry");
  EXPECT_EQ(stageError({entry(path)}),
            "test.yml:2:5: plugins[0]: plugin " + path +
                ": no proxy_plugin_abi_version() symbol: not a proxy plugin (exported with "
                "PROXY_PLUGIN(Class) from api/registry/plugin.h)");
}

TEST_F(PluginLoaderTest, LibraryNeedingAMissingSymbolIsRefusedWhenLoaded) {
  const std::string path = plugin("test_plugin_undefined_symbol");
  EXPECT_THAT(stageError({entry(path)}),
              HasSubstr("plugins[0]: plugin " + path + ": cannot load: "));
  EXPECT_THAT(stageError({entry(path)}),
              HasSubstr("undefined symbol: proxy_test_symbol_nobody_defines"));
}

TEST_F(PluginLoaderTest, StaticRegistrationIsRefusedAndTakenOutOfTheRegistry) {
  const std::string path = plugin("test_plugin_static");
  EXPECT_EQ(stageError({entry(path)}),
            "test.yml:2:5: plugins[0]: plugin " + path +
                ": registered \"test_static\" from a static object when loaded, before its ABI "
                "was checked; a plugin registers its filters only in registerFilters()");
  // The static object wrote into the process-wide registry; nothing of it stays there.
  EXPECT_EQ(registry::httpFilters().get("test_static"), nullptr);
  EXPECT_THAT(stageError({entry(path)}), HasSubstr("from a static object"));
}

TEST_F(PluginLoaderTest, LibraryWithoutManifestIsRefused) {
  const std::string path = plugin("test_plugin_no_manifest");
  EXPECT_THAT(stageError({entry(path)}),
              HasSubstr("plugins[0]: plugin " + path + ": no plugin manifest: "));
}

TEST_F(PluginLoaderTest, NameOfABuiltInFilterIsRefused) {
  const std::string path = plugin("test_plugin_duplicate");
  EXPECT_EQ(stageError({entry(path)}),
            "test.yml:2:5: plugins[0]: plugin " + path +
                ": HTTP filter \"router\" is already registered by the proxy");
  ASSERT_NE(http_.get("router"), nullptr);
  EXPECT_TRUE(http_.get("router")->capabilities().terminal);  // still the built-in one
}

TEST_F(PluginLoaderTest, NameOfAnotherPluginsFilterIsRefusedAndNothingStays) {
  const std::string first = plugin("test_plugin");
  const std::string second = copyOf("test_plugin", "copy.so");
  EXPECT_EQ(stageError({entry(first, 0), entry(second, 1)}),
            "test.yml:3:5: plugins[1]: plugin " + second +
                ": network filter \"test_plugin_pass\" is already registered by plugin " + first);
  // The first plugin's filters were staged by the same call: taken out again.
  EXPECT_FALSE(pluginFiltersRegistered());
}

TEST_F(PluginLoaderTest, SameNameTwiceInOnePluginIsRefused) {
  const std::string path = plugin("test_plugin_twice");
  EXPECT_EQ(stageError({entry(path)}), "test.yml:2:5: plugins[0]: plugin " + path +
                                           ": registered the network filter \"test_twice\" twice");
  EXPECT_EQ(network_.get("test_twice"), nullptr);
}

TEST_F(PluginLoaderTest, RegisterFiltersThrowingIsRefusedAndRegistersNothing) {
  const std::string path = plugin("test_plugin_throwing");
  EXPECT_EQ(stageError({entry(path)}), "test.yml:2:5: plugins[0]: plugin " + path +
                                           ": registerFilters() threw: test plugin setup failed");
  EXPECT_EQ(http_.get("test_throwing"), nullptr);
}

TEST_F(PluginLoaderTest, RefusedStageKeepsCommittedPlugins) {
  loader_.stage("test.yml", {entry(plugin("test_plugin"))});
  loader_.commit();
  EXPECT_THAT(
      stageError({entry(plugin("test_plugin"), 0), entry(plugin("test_plugin_duplicate"), 1)}),
      HasSubstr("plugins[1]: plugin " + plugin("test_plugin_duplicate")));
  EXPECT_TRUE(pluginFiltersRegistered());
  loader_.rollback();
  EXPECT_TRUE(pluginFiltersRegistered());
}

TEST_F(PluginLoaderTest, RemovedOrChangedPluginNeedsARestart) {
  const std::string path = copyOf("test_plugin", "changing.so");
  loader_.stage("test.yml", {entry(path)});
  loader_.commit();
  EXPECT_THAT(loader_.restartRequired({entry(path)}), IsEmpty());
  EXPECT_THAT(loader_.restartRequired({}),
              ElementsAre("plugin " + path + " (removed from plugins)"));
  // A new build at the same path: a new file (new inode), as an install does.
  std::filesystem::remove(path);
  std::filesystem::copy_file(plugin("test_plugin"), path);
  EXPECT_THAT(loader_.restartRequired({entry(path)}),
              ElementsAre("plugin " + path + " (changed on disk)"));
  // The running library keeps its filters.
  EXPECT_TRUE(pluginFiltersRegistered());
}

TEST_F(PluginLoaderTest, RefusedLibraryChangedOnDiskSaysARestartIsNeeded) {
  const std::string path = copyOf("test_plugin_mismatched", "fixed_later.so");
  EXPECT_THAT(stageError({entry(path)}), HasSubstr("ABI mismatch"));
  std::filesystem::remove(path);
  std::filesystem::copy_file(plugin("test_plugin"), path);
  EXPECT_THAT(stageError({entry(path)}),
              HasSubstr("(the file has changed since; the refused library stays loaded, so the "
                        "new one needs a restart)"));
}

// Through the config loader: the plugins are staged before the chains' filter names are
// checked, so a listener may name a plugin's network filter.
TEST_F(PluginLoaderTest, ConfigMayNameAPluginFilterOnlyWhenThePluginIsListed) {
  EnvLookup no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  const std::string yaml = "plugins: [\"" + plugin("test_plugin") + R"("]
listeners:
  - name: tcp
    address: "127.0.0.1:0"
    filters:
      - name: test_plugin_pass
      - { name: test_terminal }
)";
  Config config = parseConfig(yaml, "test.yml", no_env, network_, loader_.stager());
  loader_.commit();
  ASSERT_EQ(config.plugins.size(), 1u);
  EXPECT_EQ(config.plugins[0].path, plugin("test_plugin"));
  EXPECT_EQ(config.listeners[0].filters[0].name, "test_plugin_pass");

  NetworkFilterRegistry fresh = config_test::httpFilters();
  try {
    parseConfig(yaml, "test.yml", no_env, fresh);
    ADD_FAILURE() << "expected the unknown filter to be refused";
  } catch (const ConfigFileError& error) {
    EXPECT_THAT(error.what(), HasSubstr("found \"test_plugin_pass\""));
  }
}

TEST_F(PluginLoaderTest, ConfigLoaderReportsAPluginErrorAtItsEntry) {
  EnvLookup no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  const std::string path = plugin("test_plugin_mismatched");
  const std::string yaml = "log_level: info\nplugins:\n  - \"" + path + "\"\n";
  try {
    parseConfig(yaml, "test.yml", no_env, network_, loader_.stager());
    ADD_FAILURE() << "expected the mismatched plugin to be refused";
  } catch (const ConfigFileError& error) {
    EXPECT_THAT(error.what(),
                HasSubstr("test.yml:3:5: plugins[0]: plugin " + path + ": ABI mismatch"));
  }
}

}  // namespace
}  // namespace proxy::server
