#pragma once

#include <cstddef>
#include <memory>

#include "api/network/transport_socket.h"

namespace proxy::network {

// One direction of a splice (ConnectionImpl::startSplice): a kernel pipe that bytes enter
// from one socket and leave to the other with splice(2), never passing through user space.
// What the pipe holds is that direction's whole buffer, so its capacity bounds the memory
// a stalled destination can pin. Owned by the destination connection; worker thread only.
class SplicePipe {
 public:
  // A new non-blocking pipe, or null when the process is out of descriptors (the caller
  // then keeps copying through user space).
  static std::unique_ptr<SplicePipe> create();
  ~SplicePipe();
  SplicePipe(const SplicePipe&) = delete;
  SplicePipe& operator=(const SplicePipe&) = delete;

  // Moves bytes from socket `fd` into the pipe, at most the room left (callers only call
  // it with room left). kEndOfStream is the peer's FIN; errors read as the raw transport
  // socket's do ("connection_reset", "read_error").
  IoResult fillFrom(int fd);
  // Moves what the pipe holds to socket `fd`: kOk may leave bytes behind (the socket's
  // send buffer filled up); errors read as a failed write does ("connection_reset",
  // "write_error").
  IoResult drainTo(int fd);

  size_t bytes() const { return bytes_; }
  size_t capacity() const { return capacity_; }
  // splice(2) calls that moved bytes, for tests and benchmarks.
  uint64_t transfers() const { return transfers_; }
  int readEndForTest() const { return read_end_; }

 private:
  SplicePipe(int read_end, int write_end, size_t capacity)
      : read_end_(read_end), write_end_(write_end), capacity_(capacity) {}

  const int read_end_;
  const int write_end_;
  const size_t capacity_;
  size_t bytes_ = 0;
  uint64_t transfers_ = 0;
};

}  // namespace proxy::network
