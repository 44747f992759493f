#pragma once

#include <memory>

#include "api/buffer/buffer.h"

namespace proxy::network {

class Connection;

// What a filter tells the filter manager after handling an event.
enum class FilterStatus {
  kContinue,       // pass the event to the next filter
  kStopIteration,  // stop here; the filter resumes the chain later with continueReading()
};

// Given to each read filter when it is installed. Valid for the connection's lifetime.
class ReadFilterCallbacks {
 public:
  virtual ~ReadFilterCallbacks() = default;

  virtual Connection& connection() = 0;

  // Resumes the chain after this filter returned kStopIteration from onNewConnection() or
  // onData(): the next filter sees onNewConnection() if it has not yet, then any data held in
  // the connection's read buffer.
  virtual void continueReading() = 0;
};

// A filter on the bytes a connection reads. Runs on the connection's worker thread.
class ReadFilter {
 public:
  virtual ~ReadFilter() = default;

  // Called once, before any other method, with callbacks that outlive the filter.
  virtual void initializeReadFilterCallbacks(ReadFilterCallbacks& callbacks) = 0;

  // Called once when the connection is established and the chain is installed.
  virtual FilterStatus onNewConnection() = 0;

  // Called with the connection's read buffer whenever bytes (or the end of the stream)
  // arrive. A filter that consumes bytes drains them from `data`; bytes it leaves are kept
  // and shown again with the next read. `end_stream` is true once the peer has half-closed.
  virtual FilterStatus onData(buffer::Instance& data, bool end_stream) = 0;

  // The proxy is draining this connection (shutdown, or its listener was removed): finish
  // what is in flight and close when convenient (an HTTP connection closes once idle, a
  // TCP tunnel keeps going). Called at most once; the default does nothing.
  virtual void onDrain() {}
};

// Given to each write filter when it is installed.
class WriteFilterCallbacks {
 public:
  virtual ~WriteFilterCallbacks() = default;
  virtual Connection& connection() = 0;
};

// A filter on the bytes written to a connection, run in reverse order of installation.
class WriteFilter {
 public:
  virtual ~WriteFilter() = default;

  virtual void initializeWriteFilterCallbacks(WriteFilterCallbacks& callbacks) = 0;

  // Sees `data` before it is queued for the socket; may modify it. kStopIteration drops the
  // write from the remaining filters (the filter then owns the bytes it moved out).
  virtual FilterStatus onWrite(buffer::Instance& data, bool end_stream) = 0;
};

// A filter that is both.
class Filter : public ReadFilter, public WriteFilter {};

using ReadFilterSharedPtr = std::shared_ptr<ReadFilter>;
using WriteFilterSharedPtr = std::shared_ptr<WriteFilter>;
using FilterSharedPtr = std::shared_ptr<Filter>;

// Where a filter chain factory installs filters on a new connection.
class FilterManager {
 public:
  virtual ~FilterManager() = default;

  // Read filters see data in the order they are added; write filters in reverse.
  virtual void addReadFilter(ReadFilterSharedPtr filter) = 0;
  virtual void addWriteFilter(WriteFilterSharedPtr filter) = 0;
  virtual void addFilter(FilterSharedPtr filter) = 0;
};

}  // namespace proxy::network
