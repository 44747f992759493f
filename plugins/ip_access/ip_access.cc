#include "ip_access.h"

#include <algorithm>

namespace proxy::plugins::ip_access {

IpAccessConfig::IpAccessConfig(std::vector<Rule> rules, bool default_allow, stats::Counter& allowed,
                               stats::Counter& denied, log::Logger& logger)
    : rules_(std::move(rules)),
      default_allow_(default_allow),
      allowed_(allowed),
      denied_(denied),
      logger_(logger) {
  // Ranges of one family with equal lengths never overlap unless equal (which the factory
  // refuses), so ordering by length alone makes the first match the most specific.
  std::stable_sort(rules_.begin(), rules_.end(), [](const Rule& a, const Rule& b) {
    return a.range.prefixLength() > b.range.prefixLength();
  });
}

bool IpAccessConfig::allows(const network::Address& address) const {
  for (const Rule& rule : rules_) {
    if (rule.range.contains(address)) {
      return rule.allow;
    }
  }
  return default_allow_;
}

network::FilterStatus IpAccessFilter::onNewConnection() {
  network::Connection& connection = callbacks_->connection();
  if (config_->allows(connection.remoteAddress())) {
    config_->allowed().inc();
    return network::FilterStatus::kContinue;
  }
  denied_ = true;
  config_->denied().inc();
  if (config_->logger().enabled(log::Level::kDebug)) {
    config_->logger().log(log::Level::kDebug, "ip_access: refused connection from " +
                                                  connection.remoteAddress().asString());
  }
  connection.close(network::ConnectionCloseType::kNoFlush, "ip_access_denied");
  return network::FilterStatus::kStopIteration;
}

network::FilterStatus IpAccessFilter::onData(buffer::Instance& data, bool) {
  if (denied_) {
    // Never reached while close() is immediate; kept so a refused client's bytes could not
    // reach the next filter even if it were not.
    data.drain(data.length());
    return network::FilterStatus::kStopIteration;
  }
  return network::FilterStatus::kContinue;
}

}  // namespace proxy::plugins::ip_access
