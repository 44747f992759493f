#pragma once

#include <sys/types.h>

#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/registry/plugin.h"
#include "api/registry/registry.h"
#include "server/config/config_loader.h"
#include "server/config/config_model.h"
#include "server/plugin_factories.h"

namespace Poco {
template <class Base>
class ClassLoader;
}

namespace proxy::server {

// Loads the filter plugins a config lists (`plugins:`) and puts their factories into the
// filter registries, staged per config generation (docs/architecture.md):
//   stage()    loads the libraries not loaded yet and registers every listed plugin's filters;
//   commit()   the config was accepted: the staged filters stay;
//   rollback() it was refused: the staged filters are taken out again (and kept here, so a
//              later config naming the plugin registers them without loading it again).
// A library is never unloaded, and registerFilters() runs once per library. Main thread
// only, as the registries are read only there (config load, snapshot build).
class PluginLoader {
 public:
  using NetworkRegistry = registry::Registry<registry::NamedNetworkFilterFactory>;
  using HttpRegistry = registry::Registry<registry::NamedHttpFilterFactory>;

  // Into the process-wide registries.
  PluginLoader();
  // Into other registries (tests).
  PluginLoader(NetworkRegistry& network, HttpRegistry& http);
  ~PluginLoader();

  // Makes the filters of every plugin in `plugins` available. Throws ConfigFileError, one
  // line `FILE:LINE:COL: plugins[N]: plugin PATH: WHY`, for a missing file or symbol, an ABI
  // mismatch, no or a bad manifest, registerFilters() throwing, or a filter name taken by a
  // built-in filter, another plugin or the same plugin twice; then nothing of this call stays
  // registered. Plugins staged by an earlier call that was neither committed nor rolled back
  // are rolled back first.
  void stage(const std::string& config_file, const std::vector<PluginConfig>& plugins);
  void commit();
  void rollback();

  // stage() as a loadConfigFile() hook.
  PluginStager stager();

  // Committed plugins a config with `plugins` cannot get without a restart, one phrase each:
  // "plugin PATH (changed on disk)" when the file is not the one loaded, "plugin PATH (removed
  // from plugins)" when it is no longer listed (its filters stay registered).
  std::vector<std::string> restartRequired(const std::vector<PluginConfig>& plugins) const;

  // The ABI string this proxy accepts (PROXY_PLUGIN_ABI_VERSION as the proxy was built).
  static const char* abiVersion();

 private:
  // Which file a path named when it was loaded.
  struct FileIdentity {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    timespec mtime{};
    bool operator==(const FileIdentity& other) const;
  };

  enum class State { kHeld, kStaged, kCommitted };

  struct Library {
    FileIdentity file;
    // Non-empty: refused once the library was loaded (its code is in the process, so loading
    // it again would give the same library); the reason, repeated for each later config.
    std::string refusal;
    State state = State::kHeld;
    PluginFactories factories;  // kHeld: here; otherwise their names, in the registries
    std::vector<std::string> network_names;
    std::vector<std::string> http_names;
  };

  // Loads `path`, checks its ABI and manifest, and collects its factories; throws
  // std::runtime_error with the reason.
  Library& load(const std::string& path);
  Library& loadChecked(const std::string& path, const FileIdentity& file);
  // Takes out of the process-wide registries what loading a library put there (static
  // registration objects, which would bypass the ABI check); throws if there was any.
  void takeStaticRegistrations(const std::vector<std::string>& network_before,
                               const std::vector<std::string>& http_before);
  void stageLibrary(Library& library);
  void unstage(Library& library);
  std::string ownerOf(const std::string& name, bool http) const;

  NetworkRegistry& network_;
  HttpRegistry& http_;
  std::unique_ptr<Poco::ClassLoader<registry::Plugin>> class_loader_;
  std::map<std::string, Library> libraries_;
  // What takeStaticRegistrations() took out: kept, as the library's code stays loaded.
  std::vector<std::unique_ptr<registry::NamedNetworkFilterFactory>> stray_network_;
  std::vector<std::unique_ptr<registry::NamedHttpFilterFactory>> stray_http_;
};

}  // namespace proxy::server
