#pragma once

#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/access_log/access_log.h"
#include "api/event/dispatcher.h"
#include "api/http/filter.h"
#include "api/network/connection.h"
#include "api/network/filter.h"
#include "api/registry/config_handle.h"
#include "common/buffer/buffer_impl.h"
#include "common/http/codec.h"
#include "common/http/connection_manager_config.h"

namespace proxy::http {

// The HTTP connection manager: the terminal network filter of an HTTP listener. It feeds
// the connection's bytes to the server codec, runs each request through a fresh chain of
// HTTP filters (decoders in order, encoders in reverse), and writes the response. One
// request is in flight at a time; pipelined requests wait in the codec's input until the
// response before them is complete, so answers go out in order.
class ConnectionManagerImpl final : public network::ReadFilter,
                                    public network::ConnectionCallbacks,
                                    public ServerCodecCallbacks {
 public:
  // `handle`, when given, holds the listener's newest config (after reloads); each new request
  // takes it, while the request in flight keeps the config it started with.
  explicit ConnectionManagerImpl(ConnectionManagerConfigConstSharedPtr config,
                                 registry::ConfigHandleSharedPtr handle = nullptr);
  ~ConnectionManagerImpl() override;

  // network::ReadFilter
  void initializeReadFilterCallbacks(network::ReadFilterCallbacks& callbacks) override;
  network::FilterStatus onNewConnection() override;
  network::FilterStatus onData(buffer::Instance& data, bool end_stream) override;
  void onDrain() override;

  // network::ConnectionCallbacks
  void onEvent(network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // http::ServerCodecCallbacks
  void onRequestHeaders(RequestHeaderMapPtr headers, bool end_stream) override;
  void onRequestData(buffer::Instance& data, bool end_stream) override;
  void onRequestTrailers(HeaderMapPtr trailers) override;

 private:
  class ActiveStream;

  // Parses what is pending, unless a request is still being answered or the answers
  // before it wait above the write buffer's high watermark.
  void dispatch();
  // Whether the write buffer is above its high watermark while no request body or tunnel
  // is being read: the parser (and reading) wait for the client to take its answers.
  bool writeBlocked();
  // Stops or resumes reading the client so that pending_ and the write buffer stay bounded.
  void updateReadPause();
  // Made on first use and dropped while the connection is idle between requests.
  ServerCodec& codec();
  // Made on first use: most connections never pipeline.
  event::Timer& resumeTimer();
  void rejectRequest(const CodecError& error);
  // Answers without a stream (the codec refused the request, or its headers never came)
  // and closes the connection.
  void replyAndClose(int code, const std::string& body, std::string_view reason);
  // The stream finished (or was reset): destroy it after this event and move on to the
  // next request, or close.
  void onStreamComplete(bool close_connection);
  void releaseStream();
  void armTimer();
  void onTimer();
  void onStreamIdleTimer();
  // Bytes moved for the request in flight (either way): the stream idle timeout restarts.
  void onStreamActivity();
  // Response bytes were queued toward the client: activity unless they queue behind a write
  // buffer above its high watermark.
  void onResponseQueued();
  // request_body_min_rate: measures the body from now over one window.
  void startBodyRateWindow();
  void onBodyRateTimer();
  // The info-level line every timeout writes when it fires.
  void logTimeout(std::string_view name, std::chrono::milliseconds duration);
  // One access-log line, when the access log is on.
  void logAccess(const access_log::RequestLine& request, const StreamInfo& info);
  // The access-log line of a request refused before it had a stream (codec, 408).
  void logRejection(int code, std::string_view reason);
  network::Connection& connection() { return read_callbacks_->connection(); }

  // Switches config_ to the handle's newest value, if there is a newer one.
  void refreshConfig();

  ConnectionManagerConfigConstSharedPtr config_;
  const registry::ConfigHandleSharedPtr config_handle_;
  uint64_t config_version_ = 0;
  network::ReadFilterCallbacks* read_callbacks_ = nullptr;
  ServerCodecPtr codec_;
  // Bytes read but not yet parsed: the rest of the current request, or pipelined ones.
  buffer::OwnedBuffer pending_;
  std::unique_ptr<ActiveStream> stream_;
  // A 0 ms timer that parses pipelined requests from a fresh stack once a response ends.
  event::TimerPtr resume_timer_;
  // The request-headers or idle timeout, whichever applies now.
  event::TimerPtr timer_;
  // request_body_min_rate's window; made on the first body on listeners that set it.
  event::TimerPtr body_rate_timer_;
  // The body bytes counted when the window began, and whether reading paused during it.
  uint64_t body_window_bytes_ = 0;
  bool body_window_paused_ = false;
  enum class TimerMode { kNone, kIdle, kRequestHeaders, kStreamIdle };
  TimerMode timer_mode_ = TimerMode::kNone;
  event::Dispatcher* dispatcher_ = nullptr;
  // The client's address, kept: the connection may be going away when a stream logs.
  network::Address client_;
  // When the request now awaited sent its first byte.
  event::MonotonicTime request_start_{};
  // The last byte moved for the request in flight.
  event::MonotonicTime last_activity_{};
  bool draining_ = false;
  // Part of a request's head has arrived (the codec holds it) and its headers have not.
  bool awaiting_headers_ = false;
  bool closed_ = false;
  // Reading is disabled by updateReadPause() (too much pending, or answers not taken).
  bool read_paused_ = false;
  bool dispatching_ = false;  // inside codec_->dispatch(): the codec must not be dropped
  // A request was answered inside codec_->dispatch(): the resume timer resumes the codec.
  bool resume_codec_ = false;
};

}  // namespace proxy::http
