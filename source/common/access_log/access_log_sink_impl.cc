#include "common/access_log/access_log_sink_impl.h"

#include <Poco/AsyncChannel.h>
#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/Message.h>
#include <Poco/StreamChannel.h>

#include <iostream>
#include <map>
#include <stdexcept>
#include <utility>

#include "common/access_log/reopenable_file_channel.h"

namespace proxy::access_log {
namespace {

// Every sink made, kept for the life of the process: a sink is dropped only at exit, after
// the workers, so its writer thread is never joined on a worker. Main thread only.
std::map<std::pair<std::string, AccessLogFormat>, AccessLogSinkSharedPtr>& sinks() {
  static std::map<std::pair<std::string, AccessLogFormat>, AccessLogSinkSharedPtr> all;
  return all;
}

}  // namespace

AccessLogSinkImpl::AccessLogSinkImpl(AccessLogFormat format, Poco::Channel* channel)
    : formatter_(format), async_(new Poco::AsyncChannel(Poco::Channel::Ptr(channel, true))) {
  async_->open();
}

AccessLogSinkImpl::~AccessLogSinkImpl() {
  // Writes what is still queued, then stops the writer thread.
  async_->close();
  async_->release();
}

AccessLogSinkSharedPtr AccessLogSinkImpl::open(const std::string& path, AccessLogFormat format) {
  auto key = std::make_pair(path, format);
  auto it = sinks().find(key);
  if (it != sinks().end()) {
    return it->second;
  }
  Poco::AutoPtr<Poco::Channel> channel;
  ReopenableFileChannel* file = nullptr;
  if (path == "stdout") {
    channel = new Poco::StreamChannel(std::cout);
  } else {
    file = new ReopenableFileChannel(path);
    channel = file;
    try {
      file->open();  // now, so a bad path is reported at start rather than lost later
    } catch (const std::exception& error) {
      throw std::runtime_error("cannot open access log \"" + path + "\": " + error.what());
    }
  }
  auto sink = std::make_shared<AccessLogSinkImpl>(format, channel.get());
  sink->file_ = file;
  sinks().emplace(key, sink);
  return sink;
}

std::vector<AccessLogSinkImpl::ReopenResult> AccessLogSinkImpl::reopenFiles() {
  std::vector<ReopenResult> results;
  for (const auto& [key, sink] : sinks()) {
    auto* impl = static_cast<AccessLogSinkImpl*>(sink.get());
    if (impl->file_ == nullptr) {
      continue;
    }
    const std::string error = impl->file_->reopen();
    if (error.empty()) {
      results.push_back({true, "access log " + impl->file_->path() + " reopened"});
    } else {
      results.push_back({false, "access log " + impl->file_->path() + " cannot be reopened: " +
                                    error + "; still writing to the file open before"});
    }
  }
  return results;
}

void AccessLogSinkImpl::log(std::string_view listener, const network::Address& client,
                            const RequestLine& request, const http::StreamInfo& info,
                            std::chrono::steady_clock::time_point end) {
  write(formatter_.format(listener, client, request, info, end, std::chrono::system_clock::now()));
}

void AccessLogSinkImpl::log(std::string_view listener, const network::Address& client,
                            const network::ConnectionInfo& info,
                            std::chrono::steady_clock::time_point end) {
  write(formatter_.format(listener, client, info, end, std::chrono::system_clock::now()));
}

void AccessLogSinkImpl::write(std::string line) {
  async_->log(Poco::Message("access", std::move(line), Poco::Message::PRIO_INFORMATION));
}

}  // namespace proxy::access_log
