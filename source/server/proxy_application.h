#pragma once

#include <Poco/AsyncChannel.h>
#include <Poco/AutoPtr.h>
#include <Poco/Util/ServerApplication.h>

#include <optional>
#include <string>

#include "server/config/config_model.h"
#include "server/descriptor_limit.h"

namespace Poco {
class Logger;
}

namespace proxy::server {

// The `proxy` command: options, logging, config loading, then the Server.
class ProxyApplication final : public Poco::Util::ServerApplication {
 protected:
  void defineOptions(Poco::Util::OptionSet& options) override;
  void handleOption(const std::string& name, const std::string& value) override;
  int main(const std::vector<std::string>& args) override;

 private:
  void printHelp();
  void setUpLogging(const std::string& level);
  // What raising RLIMIT_NOFILE did, and a warning when the listeners may not fit in it.
  static void logDescriptorLimit(const DescriptorLimit& limit, const Config& config,
                                 Poco::Logger& logger);

  std::string config_path_;
  // The log's writer thread, closed (flushed) before exit.
  Poco::AutoPtr<Poco::AsyncChannel> log_channel_;
  std::optional<std::string> log_level_;
  std::optional<uint32_t> workers_;
  bool validate_only_ = false;
  bool print_config_ = false;
  bool exit_early_ = false;
  int exit_code_ = 0;
};

}  // namespace proxy::server
