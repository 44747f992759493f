#include "common/upstream/host_impl.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace proxy::upstream {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

bool isIpLiteral(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

}  // namespace

HostImpl::HostImpl(std::string hostname, uint16_t port, bool tls, network::Address address,
                   std::shared_ptr<const PassiveHealth> health)
    : hostname_(std::move(hostname)),
      port_(port),
      tls_(tls),
      ip_literal_(isIpLiteral(hostname_)),
      health_(std::move(health)) {
  for (auto& word : address_words_) {
    word.store(0, kRelaxed);
  }
  if (address.valid()) {
    addresses_.push_back(address);
    storeAddress(address);
  }
}

bool HostImpl::setAddresses(std::vector<network::Address> addresses) {
  std::lock_guard<std::mutex> lock(writer_mutex_);
  if (addresses == addresses_) {
    return false;
  }
  const network::Address current = address();
  const bool keep = std::find(addresses.begin(), addresses.end(), current) != addresses.end();
  addresses_ = std::move(addresses);
  if (!keep) {
    storeAddress(addresses_.empty() ? network::Address() : addresses_.front());
  }
  return true;
}

std::vector<network::Address> HostImpl::addresses() const {
  std::lock_guard<std::mutex> lock(writer_mutex_);
  return addresses_;
}

void HostImpl::onAddressConnected(const network::Address& address) {
  if (address == this->address()) {
    return;  // the usual case: no lock, no write
  }
  std::lock_guard<std::mutex> lock(writer_mutex_);
  if (std::find(addresses_.begin(), addresses_.end(), address) != addresses_.end()) {
    storeAddress(address);
  }
}

void HostImpl::storeAddress(const network::Address& address) {
  uint64_t words[kAddressWords] = {};
  std::memcpy(words, &address, sizeof(address));
  const uint32_t sequence = address_sequence_.load(kRelaxed);
  address_sequence_.store(sequence + 1, kRelaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (size_t i = 0; i < kAddressWords; ++i) {
    address_words_[i].store(words[i], kRelaxed);
  }
  address_sequence_.store(sequence + 2, std::memory_order_release);
}

network::Address HostImpl::address() const {
  uint64_t words[kAddressWords];
  while (true) {
    const uint32_t before = address_sequence_.load(std::memory_order_acquire);
    for (size_t i = 0; i < kAddressWords; ++i) {
      words[i] = address_words_[i].load(kRelaxed);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if ((before & 1) == 0 && address_sequence_.load(kRelaxed) == before) {
      break;
    }
  }
  network::Address address;
  std::memcpy(static_cast<void*>(&address), words, sizeof(address));
  return address;
}

bool HostImpl::healthy() const {
  const int64_t until = ejected_until_.load(kRelaxed);
  // The common case reads one word and no clock.
  return until == 0 || health_->clock().time_since_epoch().count() >= until;
}

void HostImpl::onConnectSuccess() {
  // Only a host that failed pays for a write: the line stays shared between workers.
  if (consecutive_failures_.load(kRelaxed) != 0) {
    consecutive_failures_.store(0, kRelaxed);
  }
  if (ejected_until_.load(kRelaxed) != 0) {
    ejected_until_.store(0, kRelaxed);
  }
}

void HostImpl::onConnectFailure() {
  const uint32_t failures = consecutive_failures_.fetch_add(1, kRelaxed) + 1;
  if (health_->consecutive_failures == 0 || failures < health_->consecutive_failures) {
    return;
  }
  // The count is not reset: after its ejection time, a host whose next connect fails again
  // is ejected again at once (its failures are still consecutive). Failures reported while
  // it is ejected (attempts started before) do not extend the ejection.
  const int64_t now = health_->clock().time_since_epoch().count();
  int64_t until = ejected_until_.load(kRelaxed);
  if (until != 0 && now < until) {
    return;
  }
  const int64_t next =
      now + std::chrono::duration_cast<MonotonicTime::duration>(health_->ejection_time).count();
  // One of several workers failing at once does the ejection.
  if (ejected_until_.compare_exchange_strong(until, next, kRelaxed)) {
    ejections_.fetch_add(1, kRelaxed);
    if (health_->ejections != nullptr) {
      health_->ejections->inc();
    }
  }
}

}  // namespace proxy::upstream
