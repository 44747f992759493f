#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "api/registry/filter_factory.h"

namespace proxy::registry {

// Factories of one kind, by name. The instances live in the proxy executable (see the
// accessors below), so plugins register into the same registry the config loader reads.
// Registration happens at start-up or plugin load, on the main thread.
template <class Factory>
class Registry {
 public:
  // Takes ownership; throws std::invalid_argument if the name is already taken.
  void add(std::unique_ptr<Factory> factory) {
    std::string name = factory->name();
    auto [it, inserted] = factories_.emplace(name, std::move(factory));
    if (!inserted) {
      throw std::invalid_argument("filter '" + name + "' is already registered");
    }
  }

  // Takes a factory out again, for a plugin whose reload was refused (the proxy keeps it for
  // a later reload); nullptr when unknown. Main thread, never while a config is being built.
  std::unique_ptr<Factory> remove(std::string_view name) {
    auto it = factories_.find(std::string(name));
    if (it == factories_.end()) {
      return nullptr;
    }
    std::unique_ptr<Factory> factory = std::move(it->second);
    factories_.erase(it);
    return factory;
  }

  // nullptr when unknown.
  Factory* get(std::string_view name) const {
    auto it = factories_.find(std::string(name));
    return it == factories_.end() ? nullptr : it->second.get();
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, factory] : factories_) {
      out.push_back(name);
    }
    return out;
  }

 private:
  std::map<std::string, std::unique_ptr<Factory>> factories_;
};

// The process-wide registry of network filter factories.
Registry<NamedNetworkFilterFactory>& networkFilters();

// The process-wide registry of HTTP filter factories.
Registry<NamedHttpFilterFactory>& httpFilters();

// Registers a built-in factory from a static object in the filter's config.cc:
//   static registry::RegisterNetworkFilter<TcpProxyFactory> registered;
template <class Impl>
class RegisterNetworkFilter {
 public:
  RegisterNetworkFilter() { networkFilters().add(std::make_unique<Impl>()); }
};

template <class Impl>
class RegisterHttpFilter {
 public:
  RegisterHttpFilter() { httpFilters().add(std::make_unique<Impl>()); }
};

}  // namespace proxy::registry
