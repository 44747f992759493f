#include "server/plugin_loader.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <Poco/ClassLoader.h>
#include <Poco/Exception.h>
#include <Poco/SharedLibrary.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace proxy::server {
namespace {

constexpr char kAbiSymbol[] = "proxy_plugin_abi_version";

using AbiVersionFunction = const char* (*)();

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// The registries hold one owner per name; this says who it is, for the error.
std::string describeOwner(const std::string& owner) {
  return owner.empty() ? "the proxy" : "plugin " + owner;
}

}  // namespace

bool PluginLoader::FileIdentity::operator==(const FileIdentity& other) const {
  return device == other.device && inode == other.inode && size == other.size &&
         mtime.tv_sec == other.mtime.tv_sec && mtime.tv_nsec == other.mtime.tv_nsec;
}

PluginLoader::PluginLoader() : PluginLoader(registry::networkFilters(), registry::httpFilters()) {}

PluginLoader::PluginLoader(NetworkRegistry& network, HttpRegistry& http)
    : network_(network),
      http_(http),
      class_loader_(std::make_unique<Poco::ClassLoader<registry::Plugin>>()) {}

// The class loader's destructor deletes the Plugin objects but, like everything here, never
// unloads a library: filter factories or objects they made may still be in use.
PluginLoader::~PluginLoader() = default;

const char* PluginLoader::abiVersion() { return PROXY_PLUGIN_ABI_VERSION; }

PluginStager PluginLoader::stager() {
  return [this](const std::string& file, const std::vector<PluginConfig>& plugins) {
    stage(file, plugins);
  };
}

void PluginLoader::stage(const std::string& config_file, const std::vector<PluginConfig>& plugins) {
  rollback();
  for (const PluginConfig& plugin : plugins) {
    try {
      auto it = libraries_.find(plugin.path);
      Library& library = it != libraries_.end() ? it->second : load(plugin.path);
      if (!library.refusal.empty()) {
        struct stat info {};
        const bool same =
            ::stat(plugin.path.c_str(), &info) == 0 &&
            FileIdentity{info.st_dev, info.st_ino, info.st_size, info.st_mtim} == library.file;
        throw std::runtime_error(library.refusal +
                                 (same ? ""
                                       : " (the file has changed since; the refused library "
                                         "stays loaded, so the new one needs a restart)"));
      }
      stageLibrary(library);
    } catch (const std::exception& error) {
      rollback();
      throw ConfigFileError(formatConfigError(
          config_file, registry::ConfigError(plugin.mark, plugin.field,
                                             "plugin " + plugin.path + ": " + error.what())));
    }
  }
}

void PluginLoader::commit() {
  for (auto& [path, library] : libraries_) {
    if (library.state == State::kStaged) {
      library.state = State::kCommitted;
    }
  }
}

void PluginLoader::rollback() {
  for (auto& [path, library] : libraries_) {
    if (library.state == State::kStaged) {
      unstage(library);
    }
  }
}

PluginLoader::Library& PluginLoader::load(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    throw std::runtime_error(std::string("cannot read: ") + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) {
    throw std::runtime_error("cannot read: not a regular file");
  }
  FileIdentity file{info.st_dev, info.st_ino, info.st_size, info.st_mtim};
  // Filters registered by static objects show up in the process-wide registries as the
  // library is loaded; those names are compared before and after.
  const std::vector<std::string> network_before = registry::networkFilters().names();
  const std::vector<std::string> http_before = registry::httpFilters().names();
  // Loaded by itself first, with every symbol bound now: a plugin needing a symbol the proxy
  // does not have is refused here rather than aborting the process when it first calls it.
  // Nothing but the ABI string is used before it is checked. Never closed.
  if (::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL) == nullptr) {
    const char* reason = ::dlerror();
    // Not loaded: the next config may name a fixed file at this path.
    throw std::runtime_error(std::string("cannot load: ") +
                             (reason != nullptr ? reason : "unknown error"));
  }
  try {
    takeStaticRegistrations(network_before, http_before);
    return loadChecked(path, file);
  } catch (const std::exception& error) {
    // Its code is in the process now and stays there; the reason is kept for the next try.
    Library& library = libraries_[path];
    library.file = file;
    library.refusal = error.what();
    throw;
  }
}

void PluginLoader::takeStaticRegistrations(const std::vector<std::string>& network_before,
                                           const std::vector<std::string>& http_before) {
  std::vector<std::string> names;
  for (const auto& name : registry::networkFilters().names()) {
    if (std::find(network_before.begin(), network_before.end(), name) == network_before.end()) {
      stray_network_.push_back(registry::networkFilters().remove(name));
      names.push_back(quoted(name));
    }
  }
  for (const auto& name : registry::httpFilters().names()) {
    if (std::find(http_before.begin(), http_before.end(), name) == http_before.end()) {
      stray_http_.push_back(registry::httpFilters().remove(name));
      names.push_back(quoted(name));
    }
  }
  if (!names.empty()) {
    std::string list;
    for (const auto& name : names) {
      list += (list.empty() ? "" : ", ") + name;
    }
    throw std::runtime_error("registered " + list +
                             " from a static object when loaded, before its ABI was checked; a "
                             "plugin registers its filters only in registerFilters()");
  }
}

PluginLoader::Library& PluginLoader::loadChecked(const std::string& path,
                                                 const FileIdentity& file) {
  Poco::SharedLibrary shared(path);  // already loaded: this only gets the handle
  if (!shared.hasSymbol(kAbiSymbol)) {
    throw std::runtime_error(std::string("no ") + kAbiSymbol +
                             "() symbol: not a proxy plugin (exported with PROXY_PLUGIN(Class) "
                             "from api/registry/plugin.h)");
  }
  auto abi_function = reinterpret_cast<AbiVersionFunction>(shared.getSymbol(kAbiSymbol));
  const char* plugin_abi = abi_function();
  const std::string plugin_version = plugin_abi != nullptr ? plugin_abi : "";
  if (plugin_version != abiVersion()) {
    throw std::runtime_error("ABI mismatch: plugin built for " + quoted(plugin_version) +
                             ", proxy is " + quoted(abiVersion()) +
                             "; rebuild the plugin against this proxy's SDK with the same "
                             "compiler");
  }
  try {
    class_loader_->loadLibrary(path);
  } catch (const Poco::Exception& error) {
    throw std::runtime_error("no plugin manifest: " + error.displayText());
  }
  const auto& manifest = class_loader_->manifestFor(path);
  const Poco::AbstractMetaObject<registry::Plugin>* meta = nullptr;
  int classes = 0;
  for (auto it = manifest.begin(); it != manifest.end(); ++it) {
    meta = *it;
    ++classes;
  }
  if (classes != 1) {
    throw std::runtime_error("expected one Plugin class in the manifest, found " +
                             std::to_string(classes));
  }

  Library library;
  library.file = file;
  try {
    meta->instance().registerFilters(library.factories);
  } catch (const std::exception& error) {
    throw std::runtime_error(std::string("registerFilters() threw: ") + error.what());
  } catch (...) {
    throw std::runtime_error("registerFilters() threw a non-standard exception");
  }
  if (!library.factories.problem().empty()) {
    throw std::runtime_error(library.factories.problem());
  }
  for (const auto& factory : library.factories.network) {
    library.network_names.push_back(factory->name());
  }
  for (const auto& factory : library.factories.http) {
    library.http_names.push_back(factory->name());
  }
  return libraries_[path] = std::move(library);
}

std::string PluginLoader::ownerOf(const std::string& name, bool http) const {
  for (const auto& [path, library] : libraries_) {
    if (library.state == State::kHeld) {
      continue;
    }
    const auto& names = http ? library.http_names : library.network_names;
    for (const auto& owned : names) {
      if (owned == name) {
        return path;
      }
    }
  }
  return "";
}

void PluginLoader::stageLibrary(Library& library) {
  if (library.state != State::kHeld) {
    return;  // committed earlier (or listed twice, which the config loader refuses)
  }
  for (const auto& name : library.network_names) {
    if (network_.get(name) != nullptr) {
      throw std::runtime_error("network filter " + quoted(name) + " is already registered by " +
                               describeOwner(ownerOf(name, false)));
    }
  }
  for (const auto& name : library.http_names) {
    if (http_.get(name) != nullptr) {
      throw std::runtime_error("HTTP filter " + quoted(name) + " is already registered by " +
                               describeOwner(ownerOf(name, true)));
    }
  }
  // Nothing can throw from here: every name is free and unique within the plugin.
  for (auto& factory : library.factories.network) {
    network_.add(std::move(factory));
  }
  for (auto& factory : library.factories.http) {
    http_.add(std::move(factory));
  }
  library.factories.network.clear();
  library.factories.http.clear();
  library.state = State::kStaged;
}

void PluginLoader::unstage(Library& library) {
  for (const auto& name : library.network_names) {
    library.factories.network.push_back(network_.remove(name));
  }
  for (const auto& name : library.http_names) {
    library.factories.http.push_back(http_.remove(name));
  }
  library.state = State::kHeld;
}

std::vector<std::string> PluginLoader::restartRequired(
    const std::vector<PluginConfig>& plugins) const {
  std::vector<std::string> out;
  for (const auto& [path, library] : libraries_) {
    if (library.state != State::kCommitted) {
      continue;
    }
    const PluginConfig* listed = nullptr;
    for (const PluginConfig& plugin : plugins) {
      if (plugin.path == path) {
        listed = &plugin;
      }
    }
    if (listed == nullptr) {
      out.push_back("plugin " + path + " (removed from plugins)");
      continue;
    }
    struct stat info {};
    const bool readable = ::stat(path.c_str(), &info) == 0;
    if (!readable ||
        !(FileIdentity{info.st_dev, info.st_ino, info.st_size, info.st_mtim} == library.file)) {
      out.push_back("plugin " + path + " (changed on disk)");
    }
  }
  return out;
}

}  // namespace proxy::server
