#include "common/upstream/address_walk.h"

#include <algorithm>

namespace proxy::upstream {

void AddressWalk::start(const Host& host, const network::Address& first, Clock::time_point now,
                        std::chrono::milliseconds budget) {
  current_ = first;
  rest_ = host.addresses();
  std::erase(rest_, current_);
  next_ = 0;
  deadline_ = now + budget;
}

std::chrono::milliseconds AddressWalk::tryTimeout(Clock::time_point now) const {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - now);
  if (left.count() <= 0) {
    return std::chrono::milliseconds(1);  // spent: the connect fails at once
  }
  const size_t addresses_left = rest_.size() - next_ + 1;
  const auto share = left / static_cast<int64_t>(addresses_left);
  return std::max(share, std::min(left, kMinTryTime));
}

bool AddressWalk::advance(Clock::time_point now) {
  if (next_ >= rest_.size() || now >= deadline_) {
    return false;
  }
  current_ = rest_[next_++];
  return true;
}

}  // namespace proxy::upstream
