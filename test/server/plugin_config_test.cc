// The top-level `plugins:` field: parsed in both forms, paths resolved, printed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>

#include "server/config/config_loader.h"
#include "server/config/config_printer.h"
#include "test/server/config/config_test_util.h"

namespace proxy::server {
namespace {

using testing::HasSubstr;

Config parse(const std::string& yaml, const std::string& file = "/etc/proxy/proxy.yaml",
             const PluginStager& stager = {}) {
  EnvLookup no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  return parseConfig(yaml, file, no_env, config_test::httpFilters(), stager);
}

std::string parseError(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const ConfigFileError& error) {
    return error.what();
  }
  return "";
}

TEST(PluginConfigTest, AbsentMeansNone) { EXPECT_TRUE(parse("log_level: info\n").plugins.empty()); }

TEST(PluginConfigTest, PathsAreResolvedAgainstTheConfigDirectory) {
  Config config = parse("plugins:\n  - libs/a.so\n  - /opt/b.so\n  - ../c/./d.so\n");
  ASSERT_EQ(config.plugins.size(), 3u);
  EXPECT_EQ(config.plugins[0].path, "/etc/proxy/libs/a.so");
  EXPECT_EQ(config.plugins[1].path, "/opt/b.so");
  EXPECT_EQ(config.plugins[2].path, "/etc/c/d.so");
  EXPECT_EQ(config.plugins[1].field, "plugins[1]");
  EXPECT_EQ(config.plugins[1].mark.line, 2);
  EXPECT_EQ(config.plugins[1].mark.column, 4);
}

TEST(PluginConfigTest, ConfigFileWithoutDirectoryResolvesAgainstTheWorkingDirectory) {
  Config config = parse("plugins: [a.so]\n", "proxy.yaml");
  EXPECT_EQ(config.plugins[0].path, (std::filesystem::current_path() / "a.so").string());
}

TEST(PluginConfigTest, SeedFormTakesPluginsToo) {
  Config config =
      parse("tcp: { port: \":18000\", target: \"127.0.0.1:9\" }\nplugins: [\"/x/a.so\"]\n");
  EXPECT_TRUE(config.seed_form);
  ASSERT_EQ(config.plugins.size(), 1u);
  EXPECT_EQ(config.plugins[0].path, "/x/a.so");
}

TEST(PluginConfigTest, BadValuesAreOneLineErrors) {
  EXPECT_EQ(parseError("plugins: a.so\n"),
            "/etc/proxy/proxy.yaml:1:10: plugins: expected a list, found \"a.so\"");
  EXPECT_THAT(parseError("plugins:\n  - { path: a.so }\n"),
              HasSubstr("proxy.yaml:2:5: plugins[0]: expected the path of a plugin library "
                        "(.so), found "));
  EXPECT_EQ(parseError("plugins: [\"\"]\n"),
            "/etc/proxy/proxy.yaml:1:11: plugins[0]: expected the path of a plugin library "
            "(.so), found \"\"");
  EXPECT_EQ(parseError("plugins: [a.so, ./a.so]\n"),
            "/etc/proxy/proxy.yaml:1:17: plugins[1]: expected each plugin once, found "
            "\"/etc/proxy/a.so\" again");
}

TEST(PluginConfigTest, StagerSeesThePluginsBeforeFilterNamesAreChecked) {
  std::vector<std::string> seen;
  std::string seen_file;
  const std::string yaml = R"(plugins: [p.so]
listeners:
  - name: l
    address: "127.0.0.1:0"
    filters: [{ name: not_registered_yet }]
)";
  try {
    parse(yaml, "/etc/proxy/proxy.yaml",
          [&](const std::string& file, const std::vector<PluginConfig>& plugins) {
            seen_file = file;
            for (const auto& plugin : plugins) {
              seen.push_back(plugin.path);
            }
          });
    ADD_FAILURE() << "expected the unknown filter to be refused";
  } catch (const ConfigFileError& error) {
    EXPECT_THAT(error.what(), HasSubstr("found \"not_registered_yet\""));
  }
  EXPECT_EQ(seen_file, "/etc/proxy/proxy.yaml");
  EXPECT_EQ(seen, std::vector<std::string>{"/etc/proxy/p.so"});
}

TEST(PluginConfigTest, StagerErrorPassesThroughUnchanged) {
  try {
    parse("plugins: [p.so]\n", "/etc/proxy/proxy.yaml",
          [](const std::string&, const std::vector<PluginConfig>&) {
            throw ConfigFileError("plugin refused");
          });
    ADD_FAILURE() << "expected the stager's error";
  } catch (const ConfigFileError& error) {
    EXPECT_STREQ(error.what(), "plugin refused");
  }
}

TEST(PluginConfigTest, CanonicalFormPrintsResolvedPathsAndReadsThemBack) {
  Config config = parse("plugins: [a.so, /opt/b.so]\n");
  const std::string printed = printCanonicalConfig(config);
  EXPECT_THAT(printed, HasSubstr("plugins:\n  - \"/etc/proxy/a.so\"\n  - \"/opt/b.so\"\n"));
  Config again = parse(printed);
  ASSERT_EQ(again.plugins.size(), 2u);
  EXPECT_EQ(again.plugins[0].path, "/etc/proxy/a.so");
  // No plugins, no key: configs without plugins print as before.
  EXPECT_THAT(printCanonicalConfig(parse("log_level: info\n")), testing::Not(HasSubstr("plugins")));
}

}  // namespace
}  // namespace proxy::server
