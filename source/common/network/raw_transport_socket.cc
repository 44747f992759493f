#include "common/network/raw_transport_socket.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/network/io_result_from_errno.h"

namespace proxy::network {

const std::string& RawTransportSocket::failureReason() const {
  static const std::string kNoFailure;  // plain TCP has no handshake to fail
  return kNoFailure;
}

IoResult RawTransportSocket::read(void* data, size_t size) { return readFrom(fd_, data, size); }

IoResult RawTransportSocket::writev(const iovec* iov, int count) {
  return writevTo(fd_, iov, count);
}

IoResult RawTransportSocket::readFrom(int fd, void* data, size_t size) {
  while (true) {
    ssize_t n = ::read(fd, data, size);
    if (n > 0) {
      return IoResult{IoResult::Status::kOk, static_cast<size_t>(n), {}};
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return readFailureResult(n);
  }
}

IoResult RawTransportSocket::writevTo(int fd, const iovec* iov, int count) {
  while (true) {
    ssize_t n = ::writev(fd, iov, count);
    if (n > 0) {
      return IoResult{IoResult::Status::kOk, static_cast<size_t>(n), {}};
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return writeFailureResult(n);
  }
}

void RawTransportSocket::shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

}  // namespace proxy::network
