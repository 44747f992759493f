#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstddef>

#include "api/network/transport_socket.h"

namespace proxy::network {

// How a read-like call (read(2), splice(2) from a socket) ended, once it did not return bytes
// and errno is not EINTR (callers retry that): end of stream, "nothing now", or a broken
// connection in the words the rest of the proxy uses ("connection_reset", "read_error").
inline IoResult readFailureResult(ssize_t n) {
  if (n == 0) {
    return IoResult{IoResult::Status::kEndOfStream, 0, {}};
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    return IoResult{IoResult::Status::kAgain, 0, {}};
  }
  return IoResult{IoResult::Status::kError, 0,
                  errno == ECONNRESET ? "connection_reset" : "read_error"};
}

// The same for a write-like call (writev(2), splice(2) into a socket); 0 bytes written is an
// error.
inline IoResult writeFailureResult(ssize_t n) {
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    return IoResult{IoResult::Status::kAgain, 0, {}};
  }
  return IoResult{
      IoResult::Status::kError, 0,
      n < 0 && (errno == EPIPE || errno == ECONNRESET) ? "connection_reset" : "write_error"};
}

}  // namespace proxy::network
