#include "server/plugin_factories.h"

#include <utility>

namespace proxy::server {

template <class Factory>
void PluginFactories::add(std::vector<std::unique_ptr<Factory>>& list,
                          std::unique_ptr<Factory> factory, const char* kind) {
  if (!problem_.empty()) {
    return;  // the first problem is the one reported
  }
  if (factory == nullptr) {
    problem_ = std::string("registered a null ") + kind + " filter factory";
    return;
  }
  const std::string name = factory->name();
  if (name.empty()) {
    problem_ = std::string("registered a ") + kind + " filter with an empty name";
    return;
  }
  for (const auto& other : list) {
    if (other->name() == name) {
      problem_ = std::string("registered the ") + kind + " filter \"" + name + "\" twice";
      return;
    }
  }
  list.push_back(std::move(factory));
}

void PluginFactories::addNetworkFilter(
    std::unique_ptr<registry::NamedNetworkFilterFactory> factory) {
  add(network, std::move(factory), "network");
}

void PluginFactories::addHttpFilter(std::unique_ptr<registry::NamedHttpFilterFactory> factory) {
  add(http, std::move(factory), "HTTP");
}

}  // namespace proxy::server
