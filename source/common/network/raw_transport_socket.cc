#include "common/network/raw_transport_socket.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace proxy::network {

IoResult RawTransportSocket::read(void* data, size_t size) {
  while (true) {
    ssize_t n = ::read(fd_, data, size);
    if (n > 0) {
      return IoResult{IoResult::Status::kOk, static_cast<size_t>(n), {}};
    }
    if (n == 0) {
      return IoResult{IoResult::Status::kEndOfStream, 0, {}};
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return IoResult{IoResult::Status::kAgain, 0, {}};
    }
    return IoResult{IoResult::Status::kError, 0,
                    errno == ECONNRESET ? "connection_reset" : "read_error"};
  }
}

IoResult RawTransportSocket::writev(const iovec* iov, int count) {
  while (true) {
    ssize_t n = ::writev(fd_, iov, count);
    if (n > 0) {
      return IoResult{IoResult::Status::kOk, static_cast<size_t>(n), {}};
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return IoResult{IoResult::Status::kAgain, 0, {}};
    }
    return IoResult{
        IoResult::Status::kError, 0,
        n < 0 && (errno == EPIPE || errno == ECONNRESET) ? "connection_reset" : "write_error"};
  }
}

void RawTransportSocket::shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

}  // namespace proxy::network
