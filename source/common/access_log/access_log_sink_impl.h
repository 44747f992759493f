#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/access_log/access_log.h"
#include "common/access_log/access_log_formatter.h"

namespace Poco {
class Channel;
}

namespace proxy::access_log {

class ReopenableFileChannel;

// The access log over POCO: lines are formatted on the worker that ends the request, then
// queued to a Poco::AsyncChannel whose own thread writes them to stdout (StreamChannel) or a
// file (ReopenableFileChannel, appending), so a worker never waits for I/O.
class AccessLogSinkImpl final : public AccessLogSink {
 public:
  // `channel` receives one message per line; the sink keeps a reference to it and wraps it in
  // an AsyncChannel.
  AccessLogSinkImpl(AccessLogFormat format, Poco::Channel* channel);
  ~AccessLogSinkImpl() override;

  // The sink for a path ("stdout" or a file) and format, shared by every snapshot that names
  // the same pair, so a reload neither reopens the file nor starts another writer thread.
  // Main thread only. Throws std::runtime_error when the file cannot be opened.
  static AccessLogSinkSharedPtr open(const std::string& path, AccessLogFormat format);

  // Opens every access log file again at its path (SIGUSR1, after a rotation renamed it);
  // lines queued before go to the old file. Main thread only. One line per file, for the
  // process log: "access log PATH reopened" or "... cannot be reopened: REASON".
  struct ReopenResult {
    bool ok;
    std::string message;
  };
  static std::vector<ReopenResult> reopenFiles();

  // access_log::AccessLogSink
  void log(std::string_view listener, const network::Address& client, const RequestLine& request,
           const http::StreamInfo& info, std::chrono::steady_clock::time_point end) override;
  void log(std::string_view listener, const network::Address& client,
           const network::ConnectionInfo& info, std::chrono::steady_clock::time_point end) override;

 private:
  void write(std::string line);

  const AccessLogFormatter formatter_;
  Poco::Channel* async_;  // owned (POCO reference count)
  // The file behind async_, null for stdout; reopened in place.
  ReopenableFileChannel* file_ = nullptr;
};

}  // namespace proxy::access_log
