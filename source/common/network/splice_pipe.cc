#include "common/network/splice_pipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/network/io_result_from_errno.h"

namespace proxy::network {

namespace {

// Empty pipes given back by closed connections on this thread, for the next spliced
// connection: making a pipe (pipe2, F_GETPIPE_SZ) and closing it (two close calls) cost
// more than a short connection's whole exchange. Bounded: at most kMaxPipes x 2 descriptors
// stay open per worker.
class PipeCache {
 public:
  static constexpr size_t kMaxPipes = 32;
  struct Ends {
    int read_end;
    int write_end;
    size_t capacity;
  };

  ~PipeCache() {
    for (size_t i = 0; i < count_; ++i) {
      ::close(pipes_[i].read_end);
      ::close(pipes_[i].write_end);
    }
    count_ = 0;
    closed_ = true;
  }
  bool take(Ends& out) {
    if (count_ == 0) {
      return false;
    }
    out = pipes_[--count_];
    return true;
  }
  bool give(const Ends& ends) {
    if (closed_ || count_ == kMaxPipes) {
      return false;
    }
    pipes_[count_++] = ends;
    return true;
  }

 private:
  Ends pipes_[kMaxPipes];
  size_t count_ = 0;
  bool closed_ = false;
};

thread_local PipeCache pipe_cache;

}  // namespace

std::unique_ptr<SplicePipe> SplicePipe::create() {
  PipeCache::Ends cached;
  if (pipe_cache.take(cached)) {
    return std::unique_ptr<SplicePipe>(
        new SplicePipe(cached.read_end, cached.write_end, cached.capacity));
  }
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
  // Only an empty pipe is reused: bytes left in one belong to a connection that is gone.
  if (bytes_ == 0 && pipe_cache.give(PipeCache::Ends{read_end_, write_end_, capacity_})) {
    return;
  }
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
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return readFailureResult(n);
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
    return writeFailureResult(n);
  }
}

}  // namespace proxy::network
