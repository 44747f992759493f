// The config loader on fuzzer bytes, in either form (docs/behaviour.md §1): it must accept the text
// or throw ConfigFileError with a one-line message, never crash, hang or throw anything
// else. An accepted config must print (config_printer) to canonical text that loads again
// to a config printing the same text, as --print-config and /config_dump promise.
// INTERNAL_API_PORT comes from the input too: an input starting "#env:" has its value on the
// rest of that line (a YAML comment, so the file stays valid YAML).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "server/config/config_loader.h"
#include "server/config/config_printer.h"
#include "test/fuzz/fuzz_input.h"

namespace proxy::fuzz {
namespace {

void checkOneLine(const std::string& message) {
  FUZZ_CHECK(!message.empty());
  FUZZ_CHECK(message.find('\n') == std::string::npos);
}

void run(std::string_view text) {
  std::optional<std::string> admin_port;
  constexpr std::string_view kEnvPrefix = "#env:";
  if (text.starts_with(kEnvPrefix)) {
    const size_t end = text.find('\n');
    admin_port = std::string(text.substr(kEnvPrefix.size(), end == std::string_view::npos
                                                                ? std::string_view::npos
                                                                : end - kEnvPrefix.size()));
  }
  const server::EnvLookup env = [&admin_port](const std::string& name) {
    return name == "INTERNAL_API_PORT" ? admin_port : std::nullopt;
  };

  std::optional<server::Config> config;
  try {
    config = server::parseConfig(std::string(text), "fuzz.yml", env);
  } catch (const server::ConfigFileError& error) {
    checkOneLine(error.what());
    FUZZ_CHECK(std::string_view(error.what()).starts_with("fuzz.yml:") ||
               std::string_view(error.what()).starts_with("environment:"));
    return;
  }
  for (const std::string& warning : config->warnings) {
    checkOneLine(warning);
  }

  // The canonical text is a fixed point of load-then-print; no environment this time, the
  // admin address it gave is in the text.
  const server::EnvLookup no_env = [](const std::string&) { return std::nullopt; };
  const std::string printed = server::printCanonicalConfig(*config);
  std::optional<server::Config> reloaded;
  try {
    reloaded = server::parseConfig(printed, "printed.yml", no_env);
  } catch (const server::ConfigFileError& error) {
    std::fprintf(stderr, "printed config refused: %s\n%s\n", error.what(), printed.c_str());
    invariantFailed("the canonical form of an accepted config loads again");
  }
  FUZZ_CHECK(!reloaded->seed_form);
  const std::string reprinted = server::printCanonicalConfig(*reloaded);
  if (reprinted != printed) {
    std::fprintf(stderr, "printed:\n%s\nreprinted:\n%s\n", printed.c_str(), reprinted.c_str());
  }
  FUZZ_CHECK(reprinted == printed);
}

}  // namespace
}  // namespace proxy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  proxy::fuzz::run(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
