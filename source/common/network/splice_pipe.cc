#include "common/network/splice_pipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace proxy::network {

std::unique_ptr<SplicePipe> SplicePipe::create() {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    return nullptr;
  }
  // The kernel's default size (64 KiB): larger pipes count against the per-user pipe
  // allowance (fs.pipe-user-pages-soft), past which new pipes shrink to a page or two.
  int size = ::fcntl(fds[1], F_GETPIPE_SZ);
  return std::unique_ptr<SplicePipe>(
      new SplicePipe(fds[0], fds[1], size > 0 ? static_cast<size_t>(size) : 4096));
}

SplicePipe::~SplicePipe() {
  ::close(read_end_);
  ::close(write_end_);
}

IoResult SplicePipe::fillFrom(int fd) {
  while (true) {
    ssize_t n = ::splice(fd, nullptr, write_end_, nullptr, capacity_ - bytes_,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      bytes_ += static_cast<size_t>(n);
      ++transfers_;
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

IoResult SplicePipe::drainTo(int fd) {
  while (true) {
    ssize_t n =
        ::splice(read_end_, nullptr, fd, nullptr, bytes_, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      bytes_ -= static_cast<size_t>(n);
      ++transfers_;
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

}  // namespace proxy::network
