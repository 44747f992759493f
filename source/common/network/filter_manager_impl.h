#pragma once

#include <memory>

#include "api/buffer/buffer.h"
#include "api/network/connection.h"
#include "api/network/filter.h"
#include "common/stats/filter_counters.h"

namespace proxy::network {

// Runs a connection's read filters in order and its write filters in reverse, stopping
// where a filter says kStopIteration and resuming from the next one on continueReading().
class FilterManagerImpl {
 public:
  // What the filters read from: the connection's read buffer and whether the peer's FIN
  // was seen.
  class ReadBufferSource {
   public:
    virtual ~ReadBufferSource() = default;
    virtual buffer::Instance& readBuffer() = 0;
    virtual bool readEndStream() const = 0;
  };

  FilterManagerImpl(Connection& connection, ReadBufferSource& source)
      : connection_(connection), source_(source) {}
  ~FilterManagerImpl();
  FilterManagerImpl(const FilterManagerImpl&) = delete;
  FilterManagerImpl& operator=(const FilterManagerImpl&) = delete;

  void addReadFilter(ReadFilterSharedPtr filter);
  void addWriteFilter(WriteFilterSharedPtr filter);
  void addFilter(FilterSharedPtr filter);
  // The counters of the filters added from now on: whoever installs a chain sets each
  // config filter's counters before running its factory, so counting needs no name lookup.
  void setInstallingFilterCounters(const stats::FilterCounters& counters) {
    installing_invocations_ = counters.invocations;
  }

  // Calls onNewConnection() on the filters.
  bool initializeReadFilters();
  // New bytes (or the end of the stream) are in the read buffer.
  void onRead();
  // Runs the write filters; false if one stopped the write.
  bool onWrite(buffer::Instance& data, bool end_stream);
  bool hasReadFilters() const { return read_filters_ != nullptr; }
  // Tells every read filter the connection is draining.
  void onDrain();

 private:
  struct ActiveReadFilter : public ReadFilterCallbacks {
    ActiveReadFilter(FilterManagerImpl& parent, ReadFilterSharedPtr filter)
        : parent_(parent), filter_(std::move(filter)) {}

    // network::ReadFilterCallbacks
    Connection& connection() override { return parent_.connection_; }
    void continueReading() override { parent_.onContinueReading(this); }

    FilterManagerImpl& parent_;
    ReadFilterSharedPtr filter_;
    // A network filter counts only its invocations (FilterCounters::invocations).
    stats::Counter* invocations_ = nullptr;
    std::unique_ptr<ActiveReadFilter> next_;  // the next filter in read order
    bool initialized_ = false;
  };

  struct ActiveWriteFilter : public WriteFilterCallbacks {
    ActiveWriteFilter(FilterManagerImpl& parent, WriteFilterSharedPtr filter)
        : parent_(parent), filter_(std::move(filter)) {}

    // network::WriteFilterCallbacks
    Connection& connection() override { return parent_.connection_; }

    FilterManagerImpl& parent_;
    WriteFilterSharedPtr filter_;
    std::unique_ptr<ActiveWriteFilter> next_;  // the next filter in write order
  };

  void onContinueReading(ActiveReadFilter* after);

  Connection& connection_;
  ReadBufferSource& source_;
  stats::Counter* installing_invocations_ = nullptr;
  // Singly linked through each filter's next_, so a filter costs one allocation and the
  // manager two pointers; a connection has one to three filters.
  std::unique_ptr<ActiveReadFilter> read_filters_;
  // In the order writes pass through them: the last added first.
  std::unique_ptr<ActiveWriteFilter> write_filters_;
};

}  // namespace proxy::network
