#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/registry/plugin.h"

namespace proxy::server {

// What one plugin's registerFilters() registered, held by the proxy rather than put straight
// into the registries: the loader checks the names first and stages them per config
// generation (plugin_loader.h).
class PluginFactories final : public registry::PluginRegistrar {
 public:
  // registry::PluginRegistrar
  void addNetworkFilter(std::unique_ptr<registry::NamedNetworkFilterFactory> factory) override;
  void addHttpFilter(std::unique_ptr<registry::NamedHttpFilterFactory> factory) override;

  // Empty, or why the registrations cannot be used (an empty name, a null factory, a name
  // given twice): one phrase for the loader's error line.
  const std::string& problem() const { return problem_; }

  std::vector<std::unique_ptr<registry::NamedNetworkFilterFactory>> network;
  std::vector<std::unique_ptr<registry::NamedHttpFilterFactory>> http;

 private:
  template <class Factory>
  void add(std::vector<std::unique_ptr<Factory>>& list, std::unique_ptr<Factory> factory,
           const char* kind);

  std::string problem_;
};

}  // namespace proxy::server
