#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/log/logger.h"
#include "api/network/connection.h"
#include "api/network/filter.h"
#include "api/stats/stats.h"
#include "cidr_range.h"

namespace proxy::plugins::ip_access {

// One `ip_access` filter's rules and counters, built at config time and shared read-only by
// every connection on every worker.
class IpAccessConfig {
 public:
  struct Rule {
    CidrRange range;
    bool allow;
  };

  // `rules` in any order; the most specific range containing a client decides.
  IpAccessConfig(std::vector<Rule> rules, bool default_allow, stats::Counter& allowed,
                 stats::Counter& denied, log::Logger& logger);

  // Whether a client at `address` may connect: the rule with the longest prefix that
  // contains it, or the default when none does.
  bool allows(const network::Address& address) const;

  stats::Counter& allowed() const { return allowed_; }
  stats::Counter& denied() const { return denied_; }
  log::Logger& logger() const { return logger_; }

 private:
  std::vector<Rule> rules_;  // longest prefix first, so the first match is the answer
  const bool default_allow_;
  stats::Counter& allowed_;
  stats::Counter& denied_;
  log::Logger& logger_;
};

using IpAccessConfigConstSharedPtr = std::shared_ptr<const IpAccessConfig>;

// Admits or refuses a connection by its client address, before any other filter sees it.
// A refused connection is closed at once, without reading a byte, and the chain stops
// there: the filters after it (tcp_proxy, http_connection_manager) never hear of it.
class IpAccessFilter final : public network::ReadFilter {
 public:
  explicit IpAccessFilter(IpAccessConfigConstSharedPtr config) : config_(std::move(config)) {}

  // network::ReadFilter
  void initializeReadFilterCallbacks(network::ReadFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  network::FilterStatus onNewConnection() override;
  network::FilterStatus onData(buffer::Instance& data, bool end_stream) override;

 private:
  const IpAccessConfigConstSharedPtr config_;
  network::ReadFilterCallbacks* callbacks_ = nullptr;
  bool denied_ = false;
};

}  // namespace proxy::plugins::ip_access
