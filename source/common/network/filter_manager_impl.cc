#include "common/network/filter_manager_impl.h"

namespace proxy::network {

FilterManagerImpl::~FilterManagerImpl() {
  // As the lists did: write filters, then read filters, each front to back; no recursion
  // down a chain.
  while (write_filters_ != nullptr) {
    write_filters_ = std::move(write_filters_->next_);
  }
  while (read_filters_ != nullptr) {
    read_filters_ = std::move(read_filters_->next_);
  }
}

void FilterManagerImpl::addReadFilter(ReadFilterSharedPtr filter) {
  auto active = std::make_unique<ActiveReadFilter>(*this, std::move(filter));
  ActiveReadFilter& ref = *active;
  ref.invocations_ = installing_invocations_;
  // Appended by walking the chain: a connection has one to three filters, and a tail
  // pointer would cost every connection 8 bytes.
  std::unique_ptr<ActiveReadFilter>* tail = &read_filters_;
  while (*tail != nullptr) {
    tail = &(*tail)->next_;
  }
  *tail = std::move(active);
  ref.filter_->initializeReadFilterCallbacks(ref);
}

void FilterManagerImpl::addWriteFilter(WriteFilterSharedPtr filter) {
  auto active = std::make_unique<ActiveWriteFilter>(*this, std::move(filter));
  active->filter_->initializeWriteFilterCallbacks(*active);
  active->next_ = std::move(write_filters_);
  write_filters_ = std::move(active);
}

void FilterManagerImpl::addFilter(FilterSharedPtr filter) {
  addReadFilter(filter);
  addWriteFilter(filter);
}

bool FilterManagerImpl::initializeReadFilters() {
  if (read_filters_ == nullptr) {
    return false;
  }
  onContinueReading(nullptr);
  return true;
}

void FilterManagerImpl::onRead() { onContinueReading(nullptr); }

void FilterManagerImpl::onContinueReading(ActiveReadFilter* after) {
  ActiveReadFilter* entry = after == nullptr ? read_filters_.get() : after->next_.get();
  for (; entry != nullptr; entry = entry->next_.get()) {
    ActiveReadFilter& active = *entry;
    if (!active.initialized_) {
      active.initialized_ = true;
      if (active.invocations_ != nullptr) {
        active.invocations_->inc();
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
  for (ActiveReadFilter* active = read_filters_.get(); active != nullptr;
       active = active->next_.get()) {
    active->filter_->onDrain();
    if (connection_.state() != ConnectionState::kOpen) {
      return;
    }
  }
}

bool FilterManagerImpl::onWrite(buffer::Instance& data, bool end_stream) {
  for (ActiveWriteFilter* active = write_filters_.get(); active != nullptr;
       active = active->next_.get()) {
    if (active->filter_->onWrite(data, end_stream) == FilterStatus::kStopIteration) {
      return false;
    }
  }
  return true;
}

}  // namespace proxy::network
