#pragma once

#include <Poco/Channel.h>

#include <mutex>
#include <string>

namespace proxy::access_log {

// An append-only log file that can be opened again at its path (SIGUSR1 after logrotate
// renamed it). Poco::FileChannel cannot: its close() races the AsyncChannel thread's log().
// Here one mutex covers both, so a line goes wholly to the old file or to the new one.
class ReopenableFileChannel final : public Poco::Channel {
 public:
  explicit ReopenableFileChannel(std::string path);

  // Opens (creates) the file for appending. Throws std::runtime_error naming the path.
  void open() override;
  void close() override;
  // One line: the message text and a newline, in one write(2).
  void log(const Poco::Message& message) override;

  // Opens the path afresh and switches to it; the old descriptor is closed. On failure
  // the old file is kept and the error (with strerror) is returned; empty on success.
  std::string reopen();

  const std::string& path() const { return path_; }

 protected:
  ~ReopenableFileChannel() override;

 private:
  int openPath() const;

  const std::string path_;
  std::mutex mutex_;
  int fd_ = -1;
};

}  // namespace proxy::access_log
