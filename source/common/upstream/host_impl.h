#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "api/stats/stats.h"
#include "api/upstream/cluster.h"

namespace proxy::upstream {

using MonotonicTime = std::chrono::steady_clock::time_point;
// What "now" is; tests hand in a fake clock.
using MonotonicClock = std::function<MonotonicTime()>;

// Passive health settings shared by a cluster's hosts.
struct PassiveHealth {
  // Consecutive connect failures that eject a host; 0 never ejects.
  uint32_t consecutive_failures = 5;
  // How long an ejected host is left out before it is tried again.
  std::chrono::milliseconds ejection_time{10000};
  MonotonicClock clock = [] { return std::chrono::steady_clock::now(); };
  // Counted on each ejection; may be null.
  stats::Counter* ejections = nullptr;
};

// A Host whose addresses are written by the main thread (DNS) and whose current address is
// read by workers through a sequence lock over relaxed atomic words: readers write nothing,
// so they never contend. Writers (DNS on the main thread, a worker whose connection
// succeeded on another address) are rare and serialised by a mutex, which also guards the
// full list of addresses. The
// health counters are relaxed atomics written only on failures (and on the first success
// after one); the active-request count is written by every request and sits on its own cache
// line.
class HostImpl final : public Host {
 public:
  // `address` may be invalid (not resolved yet); `health` is shared with the cluster.
  HostImpl(std::string hostname, uint16_t port, bool tls, network::Address address,
           std::shared_ptr<const PassiveHealth> health);

  // Main thread: every address re-resolution found, in the resolver's order (not empty).
  // address() stays when it is still among them, else becomes the first. Returns whether
  // the list changed.
  bool setAddresses(std::vector<network::Address> addresses);
  // Whether the name is an IP literal, which never needs re-resolving.
  bool ipLiteral() const { return ip_literal_; }
  // How many times this host has been ejected.
  uint64_t ejections() const { return ejections_.load(std::memory_order_relaxed); }

  // upstream::Host
  const std::string& hostname() const override { return hostname_; }
  uint16_t port() const override { return port_; }
  bool tls() const override { return tls_; }
  network::Address address() const override;
  std::vector<network::Address> addresses() const override;
  void onAddressConnected(const network::Address& address) override;
  bool healthy() const override;
  void onConnectSuccess() override;
  void onConnectFailure() override;
  void onRequestStart() override { active_requests_.fetch_add(1, std::memory_order_relaxed); }
  void onRequestEnd() override { active_requests_.fetch_sub(1, std::memory_order_relaxed); }
  uint64_t activeRequests() const override {
    return active_requests_.load(std::memory_order_relaxed);
  }

 private:
  static_assert(std::is_trivially_copyable_v<network::Address>);
  static constexpr size_t kAddressWords = (sizeof(network::Address) + 7) / 8;

  const std::string hostname_;
  const uint16_t port_;
  const bool tls_;
  const bool ip_literal_;
  const std::shared_ptr<const PassiveHealth> health_;

  // Writes the sequence-locked current address; writers hold writer_mutex_.
  void storeAddress(const network::Address& address);

  mutable std::mutex writer_mutex_;
  std::vector<network::Address> addresses_;  // guarded by writer_mutex_

  // Odd while a writer is writing address_words_.
  std::atomic<uint32_t> address_sequence_{0};
  std::atomic<uint64_t> address_words_[kAddressWords];

  std::atomic<uint32_t> consecutive_failures_{0};
  // steady_clock ticks until which the host is ejected; 0 when it is not.
  std::atomic<int64_t> ejected_until_{0};
  std::atomic<uint64_t> ejections_{0};

  alignas(64) std::atomic<uint64_t> active_requests_{0};
};

}  // namespace proxy::upstream
