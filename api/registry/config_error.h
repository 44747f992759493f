#pragma once

#include <yaml-cpp/yaml.h>

#include <stdexcept>
#include <string>

namespace proxy::registry {

// A config mistake found while loading or building filters: where it is, which field, and
// what was expected and found. The loader prefixes the field with its path in the file
// ("listeners[0].filters[1].config.cluster") and the file name, giving the one-line error
// `FILE:LINE:COL: FIELD: MESSAGE`. Control plane only.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const YAML::Mark& mark, std::string field, const std::string& message)
      : std::runtime_error(message), mark_(mark), field_(std::move(field)) {}

  const YAML::Mark& mark() const { return mark_; }
  const std::string& field() const { return field_; }

 private:
  YAML::Mark mark_;
  std::string field_;
};

}  // namespace proxy::registry
