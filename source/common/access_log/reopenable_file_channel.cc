#include "common/access_log/reopenable_file_channel.h"

#include <Poco/Message.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace proxy::access_log {

ReopenableFileChannel::ReopenableFileChannel(std::string path) : path_(std::move(path)) {}

ReopenableFileChannel::~ReopenableFileChannel() { close(); }

int ReopenableFileChannel::openPath() const {
  return ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

void ReopenableFileChannel::open() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (fd_ >= 0) {
    return;
  }
  fd_ = openPath();
  if (fd_ < 0) {
    throw std::runtime_error(std::string(std::strerror(errno)));
  }
}

void ReopenableFileChannel::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

std::string ReopenableFileChannel::reopen() {
  // Opened outside the lock: the writer thread keeps writing to the old file meanwhile.
  const int fd = openPath();
  if (fd < 0) {
    return std::strerror(errno);
  }
  int old = -1;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    old = std::exchange(fd_, fd);
  }
  if (old >= 0) {
    ::close(old);
  }
  return {};
}

void ReopenableFileChannel::log(const Poco::Message& message) {
  std::string line = message.getText();
  line += '\n';
  std::lock_guard<std::mutex> lock(mutex_);
  if (fd_ < 0) {
    return;
  }
  // O_APPEND: each write lands at the end, whole, even beside another writer (logrotate's
  // copytruncate). A short write (disk full) finishes or drops the rest of the line.
  const char* at = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, at, left);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    at += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace proxy::access_log
