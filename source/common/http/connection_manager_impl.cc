#include "common/http/connection_manager_impl.h"

#include <algorithm>
#include <string>

#include "api/http/recycled_memory.h"
#include "common/log/timeout_log.h"

namespace proxy::http {
namespace {

// Pipelined bytes held beyond this pause reading until the current response is done.
constexpr size_t kMaxPendingWhileBusy = 64 * 1024;

ResponseHeaderMapPtr localReplyHeaders(int code, size_t body_size) {
  auto headers = std::make_unique<ResponseHeaderMap>();
  headers->setStatus(code);
  headers->add("content-type", "text/plain; charset=utf-8");
  headers->add("content-length", std::to_string(body_size));
  return headers;
}

}  // namespace

// One request and its response: the filters installed for it, where each direction's
// iteration stands, and the state that decides when the exchange is over. It and its filter
// entries are recycled memory: the next request on the worker reuses the blocks.
class ConnectionManagerImpl::ActiveStream final : public FilterChainFactoryCallbacks,
                                                  public event::DeferredDeletable,
                                                  public RecycledObject {
 public:
  ActiveStream(ConnectionManagerImpl& parent, RequestHeaderMapPtr headers)
      : parent_(parent), config_(parent.config_), request_headers_(std::move(headers)) {
    info_.start_time = parent_.connection().dispatcher().approximateMonotonicTime();
    if (config_->access_log != nullptr) {
      // As received: a router may rewrite the headers' path before the line is written.
      method_ = request_headers_->method();
      path_ = request_headers_->path();
    }
    const auto& factories = config_->filter_factories;
    const auto& counters = config_->filter_counters;
    // One allocation per list: a factory usually installs one filter (two entries for a
    // filter that both decodes and encodes).
    decoders_.reserve(factories.size());
    encoders_.reserve(factories.size());
    for (size_t i = 0; i < factories.size(); ++i) {
      installing_counters_ = i < counters.size() ? counters[i] : stats::FilterCounters{};
      factories[i](*this);
    }
  }

  ~ActiveStream() override {
    if (!destroyed_) {
      destroyFilters();
    }
  }

  // http::FilterChainFactoryCallbacks
  void addStreamDecoderFilter(StreamDecoderFilterSharedPtr filter) override {
    decoders_.push_back(std::make_unique<DecoderEntry>(*this, std::move(filter)));
    decoders_.back()->counters_ = installing_counters_;
    decoders_.back()->filter_->setDecoderFilterCallbacks(*decoders_.back());
  }
  void addStreamEncoderFilter(StreamEncoderFilterSharedPtr filter) override {
    addEncoder(std::move(filter), false);
  }
  void addStreamFilter(StreamFilterSharedPtr filter) override {
    addStreamDecoderFilter(filter);
    addEncoder(std::move(filter), true);
  }

  // The codec's events, passed down the decoder chain.
  void decodeHeaders(bool end_stream) {
    request_complete_ = end_stream;
    runDecodeHeaders(0, end_stream);
  }
  void decodeData(buffer::Instance& data, bool end_stream) {
    info_.request_body_bytes += data.length();
    request_complete_ = end_stream;
    if (local_reply_sent_) {
      data.drain(data.length());  // the answer is given; the rest of the body is discarded
      maybeComplete();
      return;
    }
    runDecodeData(0, data, end_stream);
    if (upgraded_ && end_stream) {
      maybeComplete();  // the client's FIN: the tunnel ends once the upstream's has come
    }
  }
  // The client half-closed a tunnel.
  void endTunnelFromClient() {
    buffer::OwnedBuffer empty;
    decodeData(empty, true);
  }
  void decodeTrailers(HeaderMapPtr trailers) {
    request_complete_ = true;
    request_trailers_ = std::move(trailers);
    if (local_reply_sent_) {
      maybeComplete();
      return;
    }
    runDecodeTrailers(0);
  }

  // The client went away or the stream must end now. A codec rejection gives its reason and
  // the status the client is answered with (0 when none can be sent).
  void reset(RequestFailure failure, std::string_view rejection = {}, int code = 0) {
    if (!response_complete_ && info_.failure == RequestFailure::kNone) {
      info_.failure = failure;
      info_.rejection = std::string(rejection);
      if (code != 0 && !response_started_) {
        info_.response_code = code;
      }
    }
    destroyFilters();
  }

  // No byte either way for stream_idle_timeout: 504 if the response has not started, else
  // the connection is cut.
  void onIdleTimeout() {
    info_.failure = RequestFailure::kStreamIdleTimeout;
    if (response_started_) {
      // Nothing moved, most likely because the client stopped reading: what is still queued
      // would never leave, so the connection closes without flushing it.
      destroyFilters();
      parent_.connection().close(network::ConnectionCloseType::kNoFlush, "stream_idle_timeout");
      return;
    }
    sendLocalReply(504, "stream idle timeout\n");
  }

  // The request body came slower than request_body_min_rate over a window: 408 if the
  // response has not started, else the connection is cut.
  void onBodyMinRate() {
    info_.failure = RequestFailure::kRequestBodyMinRate;
    if (response_started_) {
      destroyFilters();
      parent_.connection().close(network::ConnectionCloseType::kNoFlush, "request_body_min_rate");
      return;
    }
    sendLocalReply(408, "request body too slow\n");
  }

  // Whether the body's pace is the client's alone now: no tunnel, no body finished, not
  // waiting for the upstream's "100 Continue" before the first byte.
  bool bodyRateApplies() const {
    if (upgraded_ || request_complete_ || decoding_done_) {
      return false;
    }
    return info_.request_body_bytes > 0 || continue_sent_ ||
           !request_headers_->get("expect").has_value();
  }
  uint64_t requestBodyBytes() const { return info_.request_body_bytes; }

  void onAboveWriteBufferHighWatermark() {
    for (auto* callbacks : watermark_callbacks_) {
      callbacks->onAboveWriteBufferHighWatermark();
    }
  }
  void onBelowWriteBufferLowWatermark() {
    for (auto* callbacks : watermark_callbacks_) {
      callbacks->onBelowWriteBufferLowWatermark();
    }
  }

  bool responseStarted() const { return response_started_; }
  bool upgraded() const { return upgraded_; }
  bool requestComplete() const { return request_complete_; }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  // What every filter of this stream is given; one per installed filter so that
  // continueDecoding()/continueEncoding() know where to resume.
  struct EntryBase : public virtual StreamFilterCallbacks {
    explicit EntryBase(ActiveStream& stream) : stream_(stream) {}
    network::Connection* connection() override { return &stream_.parent_.connection(); }
    event::Dispatcher& dispatcher() override { return stream_.parent_.connection().dispatcher(); }
    StreamInfo& streamInfo() override { return stream_.info_; }
    const RouteConstSharedPtr& route() const override { return stream_.route_; }
    ActiveStream& stream_;
  };

  struct DecoderEntry final : public EntryBase,
                              public StreamDecoderFilterCallbacks,
                              public RecycledObject {
    DecoderEntry(ActiveStream& stream, StreamDecoderFilterSharedPtr filter)
        : EntryBase(stream), filter_(std::move(filter)) {}

    void continueDecoding() override { stream_.continueDecoding(this); }
    bool setRoute(RouteConstSharedPtr route) override {
      if (stream_.route_ != nullptr) {
        return false;
      }
      stream_.route_ = std::move(route);
      return true;
    }
    void sendLocalReply(int code, std::string_view body) override {
      if (counters_.local_replies != nullptr && !stream_.response_started_) {
        counters_.local_replies->inc();
      }
      stream_.sendLocalReply(code, body);
    }
    void encodeHeaders(ResponseHeaderMapPtr headers, bool end_stream) override {
      stream_.info_.response_headers_time =
          stream_.parent_.connection().dispatcher().approximateMonotonicTime();
      stream_.response_headers_ = std::move(headers);
      stream_.runEncodeHeaders(0, end_stream);
    }
    void encodeData(buffer::Instance& data, bool end_stream) override {
      stream_.encodeDataFromTerminal(data, end_stream);
    }
    void encodeTrailers(HeaderMapPtr trailers) override {
      stream_.response_trailers_ = std::move(trailers);
      stream_.runEncodeTrailers(0);
    }
    void encode1xxHeaders(ResponseHeaderMapPtr headers) override {
      stream_.continue_sent_ = true;
      buffer::OwnedBuffer out;
      stream_.parent_.codec_->encode1xx(*headers, out);
      stream_.parent_.onResponseQueued();
      stream_.parent_.connection().write(out, false);
    }
    void readDisableDownstream(bool disable) override { stream_.readDisableDownstream(disable); }
    void addDownstreamWatermarkCallbacks(DownstreamWatermarkCallbacks& callbacks) override {
      stream_.watermark_callbacks_.push_back(&callbacks);
      if (stream_.parent_.connection().aboveHighWatermark()) {
        callbacks.onAboveWriteBufferHighWatermark();
      }
    }
    void removeDownstreamWatermarkCallbacks(DownstreamWatermarkCallbacks& callbacks) override {
      auto& list = stream_.watermark_callbacks_;
      list.erase(std::remove(list.begin(), list.end(), &callbacks), list.end());
    }
    void resetStream() override { stream_.resetFromFilter(); }

    StreamDecoderFilterSharedPtr filter_;
    stats::FilterCounters counters_;
  };

  struct EncoderEntry final : public EntryBase,
                              public StreamEncoderFilterCallbacks,
                              public RecycledObject {
    EncoderEntry(ActiveStream& stream, StreamEncoderFilterSharedPtr filter, bool also_decoder)
        : EntryBase(stream), filter_(std::move(filter)), also_decoder_(also_decoder) {}
    void continueEncoding() override { stream_.continueEncoding(this); }
    StreamEncoderFilterSharedPtr filter_;
    // Installed by addStreamFilter(), so also in the decoder chain. Otherwise the filter may
    // still have been added to both chains separately: destroyFilters() looks.
    const bool also_decoder_;
  };

  void addEncoder(StreamEncoderFilterSharedPtr filter, bool also_decoder) {
    // Encoders run in reverse order of installation.
    encoders_.insert(encoders_.begin(),
                     std::make_unique<EncoderEntry>(*this, std::move(filter), also_decoder));
    encoders_.front()->filter_->setEncoderFilterCallbacks(*encoders_.front());
  }

  size_t indexOf(const DecoderEntry* entry) const {
    for (size_t i = 0; i < decoders_.size(); ++i) {
      if (decoders_[i].get() == entry) {
        return i;
      }
    }
    return kNone;
  }
  size_t indexOf(const EncoderEntry* entry) const {
    for (size_t i = 0; i < encoders_.size(); ++i) {
      if (encoders_[i].get() == entry) {
        return i;
      }
    }
    return kNone;
  }

  // A filter may answer, reset or finish the stream from inside any call below; every loop
  // checks `decoding_done_` (set when the decoder chain ended) before going on.
  void runDecodeHeaders(size_t from, bool end_stream) {
    for (size_t i = from; i < decoders_.size() && !decoding_done_; ++i) {
      if (decoders_[i]->counters_.invocations != nullptr) {
        decoders_[i]->counters_.invocations->inc();
      }
      if (decoders_[i]->filter_->decodeHeaders(*request_headers_, end_stream) ==
          FilterHeadersStatus::kStopIteration) {
        if (!decoding_done_) {
          decode_stopped_at_ = i;
        }
        return;
      }
    }
    if (!decoding_done_) {
      // No terminal filter took the request: a chain without one is a config error the
      // loader prevents, but answer rather than hang.
      sendLocalReply(500, "no filter answered the request\n");
    }
  }

  // Body bytes go to the filters that have seen the headers: up to and including one that
  // stopped them. What lies beyond waits until that filter continues.
  void runDecodeData(size_t from, buffer::Instance& data, bool end_stream) {
    for (size_t i = from; i < decoders_.size() && !decoding_done_; ++i) {
      if (decode_stopped_at_ != kNone && i > decode_stopped_at_) {
        held_request_data_.move(data);
        held_request_end_ = end_stream;
        return;
      }
      if (decoders_[i]->filter_->decodeData(data, end_stream) == FilterDataStatus::kStopIteration) {
        return;
      }
    }
  }

  void runDecodeTrailers(size_t from) {
    for (size_t i = from; i < decoders_.size() && !decoding_done_; ++i) {
      if (decode_stopped_at_ != kNone && i > decode_stopped_at_) {
        trailers_held_ = true;
        return;
      }
      if (decoders_[i]->filter_->decodeTrailers(*request_trailers_) ==
          FilterTrailersStatus::kStopIteration) {
        return;
      }
    }
  }

  void continueDecoding(DecoderEntry* entry) {
    size_t index = indexOf(entry);
    if (index == kNone || index != decode_stopped_at_) {
      return;
    }
    decode_stopped_at_ = kNone;
    // The filters after this one learn now whether a body follows.
    bool headers_only = request_complete_ && held_request_data_.length() == 0 &&
                        !held_request_end_ && !trailers_held_ && info_.request_body_bytes == 0;
    runDecodeHeaders(index + 1, headers_only);
    if (decode_stopped_at_ != kNone || decoding_done_) {
      return;
    }
    if (held_request_data_.length() > 0 || held_request_end_) {
      held_request_end_ = false;
      runDecodeData(index + 1, held_request_data_, request_complete_ && !trailers_held_);
    }
    if (trailers_held_ && decode_stopped_at_ == kNone) {
      trailers_held_ = false;
      runDecodeTrailers(index + 1);
    }
  }

  void sendLocalReply(int code, std::string_view body) {
    if (response_started_) {
      // Too late for another status line: the client connection is cut instead.
      resetFromFilter();
      return;
    }
    decoding_done_ = true;
    local_reply_sent_ = true;
    response_headers_ = localReplyHeaders(code, body.size());
    buffer::OwnedBuffer body_buffer;
    body_buffer.add(body);
    local_body_ = &body_buffer;
    runEncodeHeaders(0, body.empty());
    local_body_ = nullptr;
  }

  void runEncodeHeaders(size_t from, bool end_stream) {
    for (size_t i = from; i < encoders_.size(); ++i) {
      if (encoders_[i]->filter_->encodeHeaders(*response_headers_, end_stream) ==
          FilterHeadersStatus::kStopIteration) {
        encode_stopped_at_ = i;
        encode_headers_end_ = end_stream;
        return;
      }
    }
    writeHeaders(end_stream);
    if (local_body_ != nullptr && local_body_->length() > 0) {
      runEncodeData(0, *local_body_, true);
    }
  }

  void encodeDataFromTerminal(buffer::Instance& data, bool end_stream) {
    if (encode_stopped_at_ != kNone) {
      held_response_data_.move(data);
      held_response_end_ = end_stream;
      return;
    }
    runEncodeData(0, data, end_stream);
  }

  void runEncodeData(size_t from, buffer::Instance& data, bool end_stream) {
    for (size_t i = from; i < encoders_.size(); ++i) {
      if (encoders_[i]->filter_->encodeData(data, end_stream) == FilterDataStatus::kStopIteration) {
        return;
      }
    }
    info_.response_body_bytes += data.length();
    parent_.onResponseQueued();
    buffer::OwnedBuffer out;
    parent_.codec_->encodeData(data, end_stream, out);
    // In a tunnel the end of the upstream's bytes is a FIN toward the client.
    parent_.connection().write(out, end_stream && upgraded_);
    if (end_stream) {
      onResponseComplete();
    }
  }

  void runEncodeTrailers(size_t from) {
    for (size_t i = from; i < encoders_.size(); ++i) {
      if (encoders_[i]->filter_->encodeTrailers(*response_trailers_) ==
          FilterTrailersStatus::kStopIteration) {
        return;
      }
    }
    buffer::OwnedBuffer out;
    parent_.codec_->encodeTrailers(*response_trailers_, out);
    parent_.connection().write(out, false);
    onResponseComplete();
  }

  void continueEncoding(EncoderEntry* entry) {
    size_t index = indexOf(entry);
    if (index == kNone || index != encode_stopped_at_) {
      return;
    }
    encode_stopped_at_ = kNone;
    for (size_t i = index + 1; i < encoders_.size(); ++i) {
      if (encoders_[i]->filter_->encodeHeaders(*response_headers_, encode_headers_end_) ==
          FilterHeadersStatus::kStopIteration) {
        encode_stopped_at_ = i;
        return;
      }
    }
    writeHeaders(encode_headers_end_);
    if (held_response_data_.length() > 0 || held_response_end_) {
      runEncodeData(index + 1, held_response_data_, held_response_end_);
    }
  }

  void writeHeaders(bool end_stream) {
    response_started_ = true;
    info_.response_code = response_headers_->status();
    // Close after this response when the client asked to, when we are draining, or when a
    // local reply cut the request short (the rest of its body is not worth reading).
    // A response that starts before the request is read whole (an early answer, or a final
    // one to "Expect: 100-continue") closes too: whether the client goes on sending the body
    // or not, it must know the connection ends, so nothing it sends is taken for a request.
    close_after_ = !parent_.codec_->keepAlive() || parent_.draining_ || !request_complete_;
    parent_.onResponseQueued();
    buffer::OwnedBuffer out;
    parent_.codec_->encodeHeaders(*response_headers_, end_stream, close_after_, out);
    parent_.connection().write(out, false);
    if (parent_.codec_->upgraded()) {
      startTunnel();
      return;
    }
    if (end_stream) {
      onResponseComplete();
    }
  }

  // The 101 went out: the request direction reopens for the client's raw bytes, and each
  // side's FIN is relayed to the other. The connection is never reused, and a drain leaves
  // it alone until the shutdown timeout.
  void startTunnel() {
    upgraded_ = true;
    request_complete_ = false;
    close_after_ = true;
    parent_.connection().enableHalfClose(true);
    if (parent_.pending_.length() > 0) {
      // Bytes that came behind the request head, from a fresh stack.
      parent_.resumeTimer().enableTimer(std::chrono::milliseconds(0));
    }
  }

  void onResponseComplete() {
    response_complete_ = true;
    // A tunnel's client side goes on until its own FIN.
    decoding_done_ = !upgraded_ || request_complete_;
    maybeComplete();
  }

  void maybeComplete() {
    if (!response_complete_ || completing_ || (upgraded_ && !request_complete_)) {
      return;
    }
    completing_ = true;
    // The request may still be arriving (an early answer): it will not be read, so the
    // connection cannot be reused.
    bool close = close_after_ || !parent_.codec_->keepAlive() || !request_complete_;
    destroyFilters();
    parent_.onStreamComplete(close);
  }

  void readDisableDownstream(bool disable) {
    if (disable) {
      parent_.body_window_paused_ = true;  // the upstream, not the client, sets the pace
      ++read_disables_;
    } else if (read_disables_ > 0) {
      --read_disables_;
    } else {
      return;
    }
    parent_.connection().readDisable(disable);
  }

  void resetFromFilter() {
    // A tunnel whose upstream closed has a complete response: no failure.
    if (info_.failure == RequestFailure::kNone && !response_complete_) {
      info_.failure = RequestFailure::kUpstreamReset;
    }
    destroyFilters();
    parent_.connection().close(network::ConnectionCloseType::kFlushWrite, "stream_reset");
  }

  void destroyFilters() {
    if (destroyed_) {
      return;
    }
    destroyed_ = true;
    decoding_done_ = true;
    while (read_disables_ > 0) {
      readDisableDownstream(false);
    }
    watermark_callbacks_.clear();
    for (auto& entry : decoders_) {
      entry->filter_->onDestroy();
    }
    for (auto& entry : encoders_) {
      // A filter in both chains hears onDestroy() once.
      bool also_decoder = entry->also_decoder_;
      for (size_t i = 0; i < decoders_.size() && !also_decoder; ++i) {
        also_decoder = dynamic_cast<const void*>(decoders_[i]->filter_.get()) ==
                       dynamic_cast<const void*>(entry->filter_.get());
      }
      if (!also_decoder) {
        entry->filter_->onDestroy();
      }
    }
    if (config_->access_log != nullptr) {
      int version = request_headers_->version();
      parent_.logAccess({method_, path_, version == 10 ? "HTTP/1.0" : "HTTP/1.1"}, info_);
    }
  }

  ConnectionManagerImpl& parent_;
  // The config this request started with; a reload meanwhile does not change its filters.
  const ConnectionManagerConfigConstSharedPtr config_;
  RequestHeaderMapPtr request_headers_;
  HeaderMapPtr request_trailers_;
  ResponseHeaderMapPtr response_headers_;
  HeaderMapPtr response_trailers_;
  StreamInfo info_;
  // The request line as received, kept only for the access log.
  std::string method_;
  std::string path_;
  RouteConstSharedPtr route_;
  template <class T>
  using RecycledVector = std::vector<T, RecyclingAllocator<T>>;
  RecycledVector<std::unique_ptr<DecoderEntry>> decoders_;
  RecycledVector<std::unique_ptr<EncoderEntry>> encoders_;
  // The counters of the filter being installed, while the constructor runs the factories.
  stats::FilterCounters installing_counters_;
  RecycledVector<DownstreamWatermarkCallbacks*> watermark_callbacks_;
  buffer::OwnedBuffer held_request_data_;
  buffer::OwnedBuffer held_response_data_;
  buffer::Instance* local_body_ = nullptr;
  size_t decode_stopped_at_ = kNone;
  size_t encode_stopped_at_ = kNone;
  uint32_t read_disables_ = 0;
  bool held_request_end_ = false;
  bool trailers_held_ = false;
  bool held_response_end_ = false;
  bool encode_headers_end_ = false;
  bool request_complete_ = false;
  bool decoding_done_ = false;
  bool local_reply_sent_ = false;
  bool response_started_ = false;
  bool response_complete_ = false;
  bool close_after_ = false;
  bool completing_ = false;
  bool destroyed_ = false;
  bool upgraded_ = false;
  bool continue_sent_ = false;  // a 1xx went to the client: the body may come now
};

ConnectionManagerImpl::ConnectionManagerImpl(ConnectionManagerConfigConstSharedPtr config,
                                             registry::ConfigHandleSharedPtr handle)
    : config_(std::move(config)), config_handle_(std::move(handle)) {
  if (config_handle_ != nullptr) {
    config_version_ = config_handle_->version();
  }
}

void ConnectionManagerImpl::refreshConfig() {
  if (config_handle_ == nullptr || config_handle_->version() == config_version_) {
    return;
  }
  std::shared_ptr<const void> newest = config_handle_->current(config_version_);
  if (newest != nullptr) {
    config_ = std::static_pointer_cast<const ConnectionManagerConfig>(newest);
  }
}

ConnectionManagerImpl::~ConnectionManagerImpl() {
  if (stream_ != nullptr) {
    stream_->reset(RequestFailure::kClientReset);
  }
}

void ConnectionManagerImpl::initializeReadFilterCallbacks(network::ReadFilterCallbacks& callbacks) {
  read_callbacks_ = &callbacks;
  connection().addConnectionCallbacks(*this);
  connection().setBufferLimits(config_->buffer_limit);
  connection().setDelayedCloseTimeout(config_->delayed_close_timeout);
}

event::Timer& ConnectionManagerImpl::resumeTimer() {
  if (resume_timer_ == nullptr) {
    resume_timer_ = connection().dispatcher().createTimer([this] {
      if (resume_codec_ && codec_ != nullptr) {
        resume_codec_ = false;
        codec_->resume();
      }
      dispatch();
    });
  }
  return *resume_timer_;
}

ServerCodec& ConnectionManagerImpl::codec() {
  if (codec_ == nullptr) {
    codec_ = createServerCodec(*this, config_->limits);
  }
  return *codec_;
}

network::FilterStatus ConnectionManagerImpl::onNewConnection() {
  event::Dispatcher& dispatcher = connection().dispatcher();
  dispatcher_ = &dispatcher;
  client_ = connection().remoteAddress();
  timer_ = dispatcher.createTimer([this] { onTimer(); });
  armTimer();
  return network::FilterStatus::kStopIteration;
}

network::FilterStatus ConnectionManagerImpl::onData(buffer::Instance& data, bool end_stream) {
  if (stream_ != nullptr) {
    onStreamActivity();
  }
  pending_.move(data);
  dispatch();
  // Only a tunnel enables half-close, so only a tunnel sees the client's FIN here.
  if (end_stream && !closed_ && stream_ != nullptr && stream_->upgraded() &&
      !stream_->requestComplete() && pending_.length() == 0) {
    stream_->endTunnelFromClient();
  }
  return network::FilterStatus::kStopIteration;
}

void ConnectionManagerImpl::dispatch() {
  if (closed_) {
    return;
  }
  if (stream_ == nullptr || !stream_->requestComplete()) {
    if (pending_.length() == 0) {
      return;
    }
    if (stream_ == nullptr && connection().aboveHighWatermark()) {
      // The answers already queued wait for the client: parse the next request (and read
      // on) once they drained below the low watermark.
      updateReadPause();
      return;
    }
    // Bytes with no request in flight begin a new request: its headers are now on the clock.
    if (!awaiting_headers_ && stream_ == nullptr) {
      awaiting_headers_ = true;
      request_start_ = connection().dispatcher().approximateMonotonicTime();
    }
    dispatching_ = true;
    auto error = codec().dispatch(pending_);
    dispatching_ = false;
    if (error) {
      rejectRequest(*error);
      return;
    }
    armTimer();
  }
  updateReadPause();
}

bool ConnectionManagerImpl::writeBlocked() {
  // A tunnel or a request body still arriving is paced by the upstream's watermarks, not
  // by this one: only between requests does a full write buffer stop the parser.
  return connection().aboveHighWatermark() && (stream_ == nullptr || stream_->requestComplete());
}

void ConnectionManagerImpl::updateReadPause() {
  if (closed_) {
    return;
  }
  // What is read but not parsed is bounded by kMaxPendingWhileBusy (plus one read), and
  // nothing is parsed while the client does not take what it was answered: a client that
  // pipelines requests and never reads holds at most buffer_limit of answers.
  bool pause = pending_.length() > kMaxPendingWhileBusy || writeBlocked();
  if (pause != read_paused_) {
    read_paused_ = pause;
    body_window_paused_ = body_window_paused_ || pause;
    connection().readDisable(pause);
  }
}

void ConnectionManagerImpl::startBodyRateWindow() {
  if (config_->request_body_min_bytes_per_second == 0) {
    return;
  }
  if (body_rate_timer_ == nullptr) {
    // Once per connection, and only on listeners that set a minimum.
    body_rate_timer_ = connection().dispatcher().createTimer([this] { onBodyRateTimer(); });
  }
  body_window_bytes_ = stream_ != nullptr ? stream_->requestBodyBytes() : 0;
  body_window_paused_ = !connection().readEnabled();
  body_rate_timer_->enableTimer(config_->request_body_min_rate_window);
}

void ConnectionManagerImpl::onBodyRateTimer() {
  if (closed_ || stream_ == nullptr) {
    return;
  }
  if (!stream_->bodyRateApplies() || body_window_paused_) {
    // Reading was paused for the upstream (or the body cannot start yet): this window says
    // nothing about the client, measure the next.
    if (!stream_->requestComplete()) {
      startBodyRateWindow();
    }
    return;
  }
  const auto& window = config_->request_body_min_rate_window;
  const uint64_t received = stream_->requestBodyBytes() - body_window_bytes_;
  const uint64_t needed =
      config_->request_body_min_bytes_per_second * static_cast<uint64_t>(window.count()) / 1000;
  if (received >= needed) {
    startBodyRateWindow();
    return;
  }
  logTimeout("request_body_min_rate", window);
  stream_->onBodyMinRate();
}

void ConnectionManagerImpl::onRequestHeaders(RequestHeaderMapPtr headers, bool end_stream) {
  awaiting_headers_ = false;
  // A reload since the last request: this one runs the new chain (routes).
  refreshConfig();
  stream_ = std::make_unique<ActiveStream>(*this, std::move(headers));
  armTimer();
  if (!end_stream) {
    startBodyRateWindow();
  }
  stream_->decodeHeaders(end_stream);
}

void ConnectionManagerImpl::onRequestData(buffer::Instance& data, bool end_stream) {
  if (stream_ != nullptr) {
    stream_->decodeData(data, end_stream);
  } else {
    data.drain(data.length());
  }
}

void ConnectionManagerImpl::onRequestTrailers(HeaderMapPtr trailers) {
  if (stream_ != nullptr) {
    stream_->decodeTrailers(std::move(trailers));
  }
}

void ConnectionManagerImpl::rejectRequest(const CodecError& error) {
  auto counter = config_->rejections.find(error.reason);
  if (counter == config_->rejections.end()) {
    counter = config_->rejections.find("other");
  }
  if (counter != config_->rejections.end()) {
    counter->second->inc();
  }
  if (stream_ != nullptr && stream_->responseStarted()) {
    // A malformed body after the response began: nothing sensible can be sent.
    stream_->reset(RequestFailure::kRequestRejected, error.reason);
    connection().close(network::ConnectionCloseType::kFlushWrite, "request_rejected");
    return;
  }
  if (stream_ != nullptr) {
    stream_->reset(RequestFailure::kRequestRejected, error.reason, error.status);
    releaseStream();
  } else {
    logRejection(error.status, error.reason);
  }
  replyAndClose(error.status, error.reason + "\n", "request_rejected");
}

void ConnectionManagerImpl::replyAndClose(int code, const std::string& body,
                                          std::string_view reason) {
  auto headers = localReplyHeaders(code, body.size());
  buffer::OwnedBuffer out;
  codec().encodeHeaders(*headers, false, true, out);
  buffer::OwnedBuffer body_buffer;
  body_buffer.add(body);
  codec().encodeData(body_buffer, true, out);
  connection().write(out, false);
  closed_ = true;
  connection().close(network::ConnectionCloseType::kFlushWrite, reason);
}

void ConnectionManagerImpl::onStreamComplete(bool close_connection) {
  releaseStream();
  if (close_connection || draining_) {
    closed_ = true;
    connection().close(network::ConnectionCloseType::kFlushWrite, "connection_close");
    return;
  }
  if (!dispatching_ && pending_.length() == 0) {
    // Idle keep-alive connection: the codec (parser state, ~0.4 KiB) is made again when
    // the next request's bytes arrive, so thousands of idle clients cost less memory.
    codec_.reset();
  } else if (dispatching_ && pending_.length() > 0) {
    // Answered from inside the codec (a local reply): resuming now would parse the next
    // pipelined request in the same loop, and every request of one read (thousands) would
    // be answered before the write buffer is looked at or a stream is freed. One per loop
    // iteration instead, from the resume timer.
    resume_codec_ = true;
  } else {
    codec_->resume();
  }
  updateReadPause();
  armTimer();
  if (pending_.length() > 0 && !writeBlocked()) {
    resumeTimer().enableTimer(std::chrono::milliseconds(0));
  }
}

void ConnectionManagerImpl::releaseStream() {
  if (body_rate_timer_ != nullptr) {
    body_rate_timer_->disableTimer();
  }
  // The stream is usually on the call stack (a filter's callback got us here): it is
  // destroyed after this event.
  if (stream_ != nullptr) {
    connection().dispatcher().deferredDelete(std::move(stream_));
  }
}

void ConnectionManagerImpl::onDrain() {
  draining_ = true;
  if (stream_ == nullptr) {
    closed_ = true;
    connection().close(network::ConnectionCloseType::kFlushWrite, "drained");
  }
  // Otherwise the response in flight carries "Connection: close" (if not yet started) and
  // the connection closes after it.
}

void ConnectionManagerImpl::armTimer() {
  if (timer_ == nullptr) {
    return;
  }
  if (stream_ != nullptr) {
    // A request in flight: the filters' own timeouts govern it, and the stream idle timeout
    // ends it when nothing moves. Activity is noted, not re-armed per byte: onTimer()
    // re-arms for what is left.
    if (config_->stream_idle_timeout.count() == 0) {
      timer_->disableTimer();
      timer_mode_ = TimerMode::kNone;
    } else if (timer_mode_ != TimerMode::kStreamIdle) {
      timer_mode_ = TimerMode::kStreamIdle;
      onStreamActivity();
      timer_->enableTimer(config_->stream_idle_timeout);
    }
  } else if (awaiting_headers_ || pending_.length() > 0) {
    // Counted from the request's first byte, not re-armed by each later one.
    if (timer_mode_ != TimerMode::kRequestHeaders) {
      timer_mode_ = TimerMode::kRequestHeaders;
      timer_->enableTimer(config_->request_headers_timeout);
    }
  } else {
    timer_mode_ = TimerMode::kIdle;
    timer_->enableTimer(config_->idle_timeout);
  }
}

void ConnectionManagerImpl::onTimer() {
  if (closed_) {
    return;
  }
  if (stream_ != nullptr) {
    if (timer_mode_ == TimerMode::kStreamIdle) {
      onStreamIdleTimer();
    }
    return;
  }
  closed_ = true;
  if (awaiting_headers_ || pending_.length() > 0) {
    // Part of a request came, the rest did not in time.
    auto counter = config_->rejections.find("request_headers_timeout");
    if (counter != config_->rejections.end()) {
      counter->second->inc();
    }
    logTimeout("request_headers_timeout", config_->request_headers_timeout);
    logRejection(408, "request_headers_timeout");
    replyAndClose(408, "request headers timeout\n", "request_headers_timeout");
    return;
  }
  logTimeout("idle_timeout", config_->idle_timeout);
  connection().close(network::ConnectionCloseType::kNoFlush, "idle_timeout");
}

void ConnectionManagerImpl::onStreamIdleTimer() {
  auto idle = connection().dispatcher().approximateMonotonicTime() - last_activity_;
  if (idle < config_->stream_idle_timeout) {
    // Something moved since the timer was armed: wait for the rest of the period.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(config_->stream_idle_timeout - idle);
    timer_->enableTimer(std::max(left, std::chrono::milliseconds(1)));
    return;
  }
  timer_mode_ = TimerMode::kNone;
  logTimeout("stream_idle_timeout", config_->stream_idle_timeout);
  stream_->onIdleTimeout();
}

void ConnectionManagerImpl::onStreamActivity() {
  last_activity_ = connection().dispatcher().approximateMonotonicTime();
}

void ConnectionManagerImpl::onResponseQueued() {
  // Bytes queued behind a write buffer the client does not drain are no progress: a stalled
  // write is idle, so a client that stops reading is timed out like one that stops sending.
  if (!connection().aboveHighWatermark()) {
    onStreamActivity();
  }
}

void ConnectionManagerImpl::logTimeout(std::string_view name, std::chrono::milliseconds duration) {
  if (config_->logger != nullptr) {
    log::logTimeout(*config_->logger, name, duration, config_->listener_name, client_);
  }
}

void ConnectionManagerImpl::logAccess(const access_log::RequestLine& request,
                                      const StreamInfo& info) {
  if (config_->access_log != nullptr && dispatcher_ != nullptr) {
    // The real time now: the loop's approximate time would count a request answered within
    // one event as taking no time at all.
    config_->access_log->log(config_->listener_name, client_, request, info,
                             std::chrono::steady_clock::now());
  }
}

void ConnectionManagerImpl::logRejection(int code, std::string_view reason) {
  if (config_->access_log == nullptr || dispatcher_ == nullptr) {
    return;
  }
  // Refused before a stream existed: the line has no request, only what was answered.
  StreamInfo info;
  info.start_time = awaiting_headers_ ? request_start_ : dispatcher_->approximateMonotonicTime();
  info.response_code = code;
  info.failure = RequestFailure::kRequestRejected;
  info.rejection = std::string(reason);
  logAccess({}, info);
}

void ConnectionManagerImpl::onEvent(network::ConnectionEvent event) {
  if (event != network::ConnectionEvent::kRemoteClose &&
      event != network::ConnectionEvent::kLocalClose) {
    return;
  }
  closed_ = true;
  if (connection().closeReason() == "delayed_close_timeout") {
    logTimeout("delayed_close_timeout", config_->delayed_close_timeout);
  }
  if (timer_ != nullptr) {
    timer_->disableTimer();
    if (resume_timer_ != nullptr) {
      resume_timer_->disableTimer();
    }
  }
  if (body_rate_timer_ != nullptr) {
    body_rate_timer_->disableTimer();
  }
  if (stream_ != nullptr) {
    stream_->reset(RequestFailure::kClientReset);
    releaseStream();
  }
}

void ConnectionManagerImpl::onAboveWriteBufferHighWatermark() {
  if (stream_ != nullptr) {
    stream_->onAboveWriteBufferHighWatermark();
  }
  updateReadPause();
}

void ConnectionManagerImpl::onBelowWriteBufferLowWatermark() {
  if (closed_) {
    return;
  }
  // The client took half of what was queued: that is progress for the stream idle timeout.
  if (stream_ != nullptr) {
    onStreamActivity();
    stream_->onBelowWriteBufferLowWatermark();
  }
  updateReadPause();
  if (stream_ == nullptr && pending_.length() > 0) {
    // Requests parked while the answers before them waited for the client: from a fresh
    // stack, as after any response.
    resumeTimer().enableTimer(std::chrono::milliseconds(0));
  }
}

}  // namespace proxy::http
