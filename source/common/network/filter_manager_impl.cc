#include "common/network/filter_manager_impl.h"

namespace proxy::network {

void FilterManagerImpl::addReadFilter(ReadFilterSharedPtr filter) {
  auto active = std::make_unique<ActiveReadFilter>(*this, std::move(filter));
  ActiveReadFilter& ref = *active;
  ref.counters_ = installing_counters_;
  read_filters_.push_back(std::move(active));
  ref.entry_ = std::prev(read_filters_.end());
  ref.filter_->initializeReadFilterCallbacks(ref);
}

void FilterManagerImpl::addWriteFilter(WriteFilterSharedPtr filter) {
  auto active = std::make_unique<ActiveWriteFilter>(*this, std::move(filter));
  active->filter_->initializeWriteFilterCallbacks(*active);
  write_filters_.push_front(std::move(active));
}

void FilterManagerImpl::addFilter(FilterSharedPtr filter) {
  addReadFilter(filter);
  addWriteFilter(filter);
}

bool FilterManagerImpl::initializeReadFilters() {
  if (read_filters_.empty()) {
    return false;
  }
  onContinueReading(nullptr);
  return true;
}

void FilterManagerImpl::onRead() { onContinueReading(nullptr); }

void FilterManagerImpl::onContinueReading(ActiveReadFilter* after) {
  auto entry = after == nullptr ? read_filters_.begin() : std::next(after->entry_);
  for (; entry != read_filters_.end(); ++entry) {
    ActiveReadFilter& active = **entry;
    if (!active.initialized_) {
      active.initialized_ = true;
      if (active.counters_.invocations != nullptr) {
        active.counters_.invocations->inc();
      }
      if (active.filter_->onNewConnection() == FilterStatus::kStopIteration ||
          connection_.state() != ConnectionState::kOpen) {
        return;
      }
    }
    buffer::Instance& data = source_.readBuffer();
    bool end_stream = source_.readEndStream();
    if (data.length() > 0 || end_stream) {
      if (active.filter_->onData(data, end_stream) == FilterStatus::kStopIteration ||
          connection_.state() != ConnectionState::kOpen) {
        return;
      }
    }
  }
}

void FilterManagerImpl::onDrain() {
  for (auto& active : read_filters_) {
    active->filter_->onDrain();
    if (connection_.state() != ConnectionState::kOpen) {
      return;
    }
  }
}

bool FilterManagerImpl::onWrite(buffer::Instance& data, bool end_stream) {
  for (auto& active : write_filters_) {
    if (active->filter_->onWrite(data, end_stream) == FilterStatus::kStopIteration) {
      return false;
    }
  }
  return true;
}

}  // namespace proxy::network
