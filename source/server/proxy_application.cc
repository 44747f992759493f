#include "server/proxy_application.h"

#include <Poco/AsyncChannel.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <sys/resource.h>

#include <cstdlib>
#include <iostream>

#include "server/config/config_loader.h"
#include "server/config/config_printer.h"
#include "server/descriptor_limit.h"
#include "server/plugin_loader.h"
#include "server/server.h"

namespace proxy::server {
namespace {

constexpr const char* kDefaultConfigPath = "config/config.yml";

std::optional<std::string> getEnvironment(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return value == nullptr ? std::nullopt : std::optional<std::string>(value);
}

}  // namespace

void ProxyApplication::defineOptions(Poco::Util::OptionSet& options) {
  ServerApplication::defineOptions(options);
  options.addOption(Poco::Util::Option("config", "c",
                                       "config file (else $CONFIG_FILE, else " +
                                           std::string(kDefaultConfigPath) + ")")
                        .required(false)
                        .repeatable(false)
                        .argument("FILE"));
  options.addOption(Poco::Util::Option("validate", "", "check the config and exit")
                        .required(false)
                        .repeatable(false));
  options.addOption(
      Poco::Util::Option("print-config", "", "print the config in canonical form and exit")
          .required(false)
          .repeatable(false));
  options.addOption(Poco::Util::Option("workers", "", "worker threads (default: one per core)")
                        .required(false)
                        .repeatable(false)
                        .argument("N"));
  options.addOption(Poco::Util::Option("log-level", "", "debug, info, warn or error")
                        .required(false)
                        .repeatable(false)
                        .argument("LEVEL"));
  options.addOption(Poco::Util::Option("help", "h", "show this help").required(false));
  options.addOption(Poco::Util::Option("version", "", "show the version").required(false));
}

void ProxyApplication::handleOption(const std::string& name, const std::string& value) {
  ServerApplication::handleOption(name, value);
  if (name == "config") {
    config_path_ = value;
  } else if (name == "validate") {
    validate_only_ = true;
  } else if (name == "print-config") {
    print_config_ = true;
  } else if (name == "workers") {
    char* end = nullptr;
    unsigned long n = std::strtoul(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || n < 1 || n > 256) {
      std::cerr << "--workers: expected a number from 1 to 256, found \"" << value << "\"\n";
      exit_early_ = true;
      exit_code_ = 1;
      stopOptionsProcessing();
      return;
    }
    workers_ = static_cast<uint32_t>(n);
  } else if (name == "log-level") {
    if (value != "debug" && value != "info" && value != "warn" && value != "error") {
      std::cerr << "--log-level: expected debug, info, warn or error, found \"" << value << "\"\n";
      exit_early_ = true;
      exit_code_ = 1;
      stopOptionsProcessing();
      return;
    }
    log_level_ = value;
  } else if (name == "help") {
    printHelp();
    exit_early_ = true;
    stopOptionsProcessing();
  } else if (name == "version") {
    std::cout << "proxy " << PROXY_VERSION << "\n";
    exit_early_ = true;
    stopOptionsProcessing();
  }
}

void ProxyApplication::printHelp() {
  Poco::Util::HelpFormatter help(options());
  help.setCommand(commandName());
  help.setUsage("[-c FILE] [OPTIONS]");
  help.setHeader("A reverse proxy for TCP and HTTP/1.1. Admin API on $INTERNAL_API_PORT.");
  help.format(std::cout);
  std::cout << "\n";
}

void ProxyApplication::setUpLogging(const std::string& level) {
  auto* formatter = new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ %p %t");
  auto* console = new Poco::ConsoleChannel;
  // Log lines are written from a thread of their own, so a slow stderr never stalls the
  // thread that logs.
  auto* async = new Poco::AsyncChannel(console);
  log_channel_.assign(async, true);  // shared: the FormattingChannel holds it too
  auto* channel = new Poco::FormattingChannel(formatter, async);
  Poco::Logger& root = Poco::Logger::root();
  root.setChannel(channel);
  const std::string poco_level = level == "warn"   ? "warning"
                                 : level == "info" ? "information"
                                                   : level;
  root.setLevel(poco_level);
  Poco::Logger::get("proxy").setChannel(channel);
  Poco::Logger::get("proxy").setLevel(poco_level);
}

void ProxyApplication::logDescriptorLimit(const DescriptorLimit& limit, const Config& config,
                                          Poco::Logger& logger) {
  if (!limit.error.empty()) {
    logger.warning("cannot raise the descriptor limit (RLIMIT_NOFILE) from " +
                   std::to_string(limit.soft) + " to " + std::to_string(limit.hard) + ": " +
                   limit.error);
  } else if (limit.soft != limit.before) {
    logger.information("descriptor limit (RLIMIT_NOFILE) raised from " +
                       std::to_string(limit.before) + " to " + std::to_string(limit.soft));
  }
  if (auto warning = DescriptorLimit::warning(config, limit.soft, limit.hard)) {
    logger.warning(*warning);
  }
}

int ProxyApplication::main(const std::vector<std::string>&) {
  if (exit_early_) {
    return exit_code_;
  }
  std::string path = config_path_;
  if (path.empty()) {
    path = getEnvironment("CONFIG_FILE").value_or(kDefaultConfigPath);
  }
  Config config;
  // The plugins' filters are registered before the config's filter names are checked; the
  // libraries stay loaded until the process exits.
  PluginLoader plugins;
  try {
    config = loadConfigFile(path, getEnvironment, plugins.stager());
    plugins.commit();
  } catch (const std::exception& error) {
    std::cerr << error.what() << "\n";
    return 1;
  }
  if (workers_) {
    config.workers = *workers_;
  }
  if (log_level_) {
    config.log_level = *log_level_;
  }
  if (print_config_) {
    std::cout << printCanonicalConfig(config);
    return 0;
  }
  if (validate_only_) {
    for (const auto& warning : config.warnings) {
      std::cerr << "warning: " << warning << "\n";
    }
    // Filter configs are checked by building the snapshot, without binding anything.
    try {
      stats::StoreImpl scratch(1);
      buildSnapshot(config, scratch);
    } catch (const std::exception& error) {
      std::cerr << error.what() << "\n";
      return 1;
    }
    // What the proxy would run with (its soft limit raised to the hard one); after the
    // checks, so an error stays the only line.
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      if (auto warning = DescriptorLimit::warning(config, limit.rlim_max, limit.rlim_max)) {
        std::cerr << "warning: " << *warning << "\n";
      }
    }
    std::cout << path << ": ok\n";
    return 0;
  }

  setUpLogging(config.log_level);
  Poco::Logger& logger = Poco::Logger::get("proxy");
  for (const auto& warning : config.warnings) {
    logger.warning(warning);
  }
  // Before any socket is opened; said once the server started (a start-up error stays the
  // only line on stderr).
  const DescriptorLimit limit = DescriptorLimit::raise();
  int code = 0;
  {
    Server server(config, logger);
    server.setPluginLoader(&plugins);
    // A reload reads the file again; the command line still wins over it.
    server.setCommandLineOverrides([this](Config& reloaded) {
      if (workers_) {
        reloaded.workers = *workers_;
      }
      if (log_level_) {
        reloaded.log_level = *log_level_;
      }
    });
    try {
      server.start();
      logDescriptorLimit(limit, config, logger);
      code = server.waitForShutdown();
    } catch (const std::exception& error) {
      // Also on stderr directly: the asynchronous channel may not flush before exit.
      std::cerr << error.what() << "\n";
      code = 1;
    }
  }
  // Flush and stop the log thread. Not Logger::shutdown(): it destroys the loggers while
  // POCO's Application still uses its own in uninitialize() (a use after free that
  // crashed the exit once the heap was busy, e.g. with 10,000 routes).
  if (!log_channel_.isNull()) {
    log_channel_->close();
  }
  return code;
}

}  // namespace proxy::server
