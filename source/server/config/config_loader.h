#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "api/registry/config_error.h"
#include "api/registry/registry.h"
#include "server/config/config_model.h"

namespace proxy::server {

// Reads an environment variable; nullopt when unset. Tests pass fakes.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment (getenv).
EnvLookup processEnvironment();

using NetworkFilterRegistry = registry::Registry<registry::NamedNetworkFilterFactory>;

// A config that cannot be used. what() is one line, `FILE:LINE:COL: FIELD: MESSAGE`, ready
// for stderr, `--validate` and the answer to a refused reload.
class ConfigFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The admin address when neither the config nor INTERNAL_API_PORT gives one. The seed form
// keeps the Go program's every-interface default, which seed/docker-compose.yml relies on.
inline constexpr char kDefaultAdminAddress[] = "127.0.0.1:42007";
inline constexpr char kSeedDefaultAdminAddress[] = ":42007";

// Formats a ConfigError as `FILE:LINE:COL: FIELD: MESSAGE` on one line (line breaks in the
// message are escaped). `field_prefix` is joined in front of the error's field, for errors
// a filter factory throws relative to its `config:` node ("listeners[0].filters[1].config");
// `fallback_mark` is used when the error has no position, as for nodes generated from the
// seed form (pass FilterConfig::mark).
std::string formatConfigError(const std::string& file, const registry::ConfigError& error,
                              const std::string& field_prefix = "",
                              const YAML::Mark& fallback_mark = YAML::Mark::null_mark());

// Called with the config's file name and `plugins:` as soon as they are read, before any
// filter name is checked, so the plugins' filters can be registered (staged) first. It
// throws ConfigFileError to refuse the config. Called with an empty list too.
using PluginStager =
    std::function<void(const std::string& file, const std::vector<PluginConfig>& plugins)>;

// Parses and validates a config in either form (docs/behaviour.md §1) against the filters in
// `filters`, applying INTERNAL_API_PORT from `env`. Throws ConfigFileError. `file_name` is
// only used in messages and Config::file.
Config parseConfig(const std::string& yaml_text, const std::string& file_name, const EnvLookup& env,
                   const NetworkFilterRegistry& filters, const PluginStager& stage_plugins = {});
// The same against the process-wide registry::networkFilters().
Config parseConfig(const std::string& yaml_text, const std::string& file_name,
                   const EnvLookup& env);

// A config file larger than this is refused before it is parsed.
inline constexpr uint64_t kMaxConfigFileBytes = 16 * 1024 * 1024;

// Reads `path` and parses it; an unreadable file is `PATH: cannot read: REASON`, and one
// that is not a regular file (directory, FIFO, device) or is over kMaxConfigFileBytes is
// refused, in one line naming it.
Config loadConfigFile(const std::string& path, const EnvLookup& env,
                      const NetworkFilterRegistry& filters, const PluginStager& stage_plugins = {});
Config loadConfigFile(const std::string& path, const EnvLookup& env);
// The same against the process-wide registry, with the plugins staged by `stage_plugins`.
Config loadConfigFile(const std::string& path, const EnvLookup& env,
                      const PluginStager& stage_plugins);

}  // namespace proxy::server
