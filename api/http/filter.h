#pragma once

#include <memory>
#include <string_view>

#include "api/buffer/buffer.h"
#include "api/http/header_map.h"
#include "api/http/route.h"
#include "api/http/stream_info.h"

namespace proxy::event {
class Dispatcher;
}
namespace proxy::network {
class Connection;
}

namespace proxy::http {

// What a filter tells the filter manager after handling headers.
enum class FilterHeadersStatus {
  kContinue,       // pass the headers to the next filter
  kStopIteration,  // hold them; the filter calls continueDecoding()/continueEncoding() later
};

// What a filter tells the filter manager after handling body bytes.
enum class FilterDataStatus {
  kContinue,       // pass the bytes on
  kStopIteration,  // the filter consumed or holds them; nothing is passed on now
};

enum class FilterTrailersStatus { kContinue, kStopIteration };

// Told when the downstream connection's write buffer crosses its watermarks, so a filter
// producing a response (the router) can stop and resume reading its upstream.
class DownstreamWatermarkCallbacks {
 public:
  virtual ~DownstreamWatermarkCallbacks() = default;
  virtual void onAboveWriteBufferHighWatermark() = 0;
  virtual void onBelowWriteBufferLowWatermark() = 0;
};

// What every HTTP filter gets for its stream. Valid until onDestroy(). Worker thread only.
class StreamFilterCallbacks {
 public:
  virtual ~StreamFilterCallbacks() = default;

  // The downstream connection; nullptr in tests that have none.
  virtual network::Connection* connection() = 0;
  virtual event::Dispatcher& dispatcher() = 0;
  virtual StreamInfo& streamInfo() = 0;
  // The route a router filter chose for this stream, nullptr until one did.
  virtual const RouteConstSharedPtr& route() const = 0;
};

// Given to decoder filters (the request direction).
class StreamDecoderFilterCallbacks : public virtual StreamFilterCallbacks {
 public:
  // Resumes the request after this filter returned kStopIteration.
  virtual void continueDecoding() = 0;

  // Sets the stream's route; the first router filter to call it decides (later calls are
  // ignored and return false).
  virtual bool setRoute(RouteConstSharedPtr route) = 0;

  // Answers the request locally with `code` and a short text body; the encoder filters
  // still see the response. Ends the decoder chain.
  virtual void sendLocalReply(int code, std::string_view body) = 0;

  // The terminal filter's response, passed through the encoder filters to the client. A
  // 101 for an upgrade request (see common/http/upgrade.h) switches the stream to a byte
  // tunnel: encodeData() then carries raw bytes and its end_stream is a FIN to the client;
  // the stream ends when both directions have ended.
  virtual void encodeHeaders(ResponseHeaderMapPtr headers, bool end_stream) = 0;
  virtual void encodeData(buffer::Instance& data, bool end_stream) = 0;
  virtual void encodeTrailers(HeaderMapPtr trailers) = 0;
  // An interim 1xx response (100 Continue, 103 Early Hints; not 101), sent at once; the
  // final response follows with encodeHeaders(). Not sent to an HTTP/1.0 client.
  virtual void encode1xxHeaders(ResponseHeaderMapPtr headers) = 0;

  // Backpressure on the request body: stop or resume reading the downstream connection.
  virtual void readDisableDownstream(bool disable) = 0;
  // Backpressure on the response: registered callbacks hear the downstream's watermarks.
  virtual void addDownstreamWatermarkCallbacks(DownstreamWatermarkCallbacks& callbacks) = 0;
  virtual void removeDownstreamWatermarkCallbacks(DownstreamWatermarkCallbacks& callbacks) = 0;

  // The response was cut off after it started: the client connection is closed (after
  // what is queued is flushed). Not a failure if the response was already complete (a
  // tunnel whose upstream closed).
  virtual void resetStream() = 0;
};

// Given to encoder filters (the response direction).
class StreamEncoderFilterCallbacks : public virtual StreamFilterCallbacks {
 public:
  virtual void continueEncoding() = 0;
};

// A filter on requests. Decoder filters run in config order; a filter that answers
// (sendLocalReply) or forwards (the terminal router) ends the chain.
class StreamDecoderFilter {
 public:
  virtual ~StreamDecoderFilter() = default;
  virtual void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks& callbacks) = 0;
  // The request line and headers; `end_stream` when there is no body.
  virtual FilterHeadersStatus decodeHeaders(RequestHeaderMap& headers, bool end_stream) = 0;
  // Body bytes as they arrive (chunked framing already removed); drain what is consumed.
  // After a 101 Switching Protocols (an upgraded stream, e.g. a WebSocket) the request's
  // direction reopens even though decodeHeaders() had end_stream: the client's raw bytes
  // arrive here, and end_stream is the client's FIN.
  virtual FilterDataStatus decodeData(buffer::Instance& data, bool end_stream) = 0;
  virtual FilterTrailersStatus decodeTrailers(HeaderMap& trailers) = 0;
  // The stream is over (complete or reset); release upstream resources. Called once.
  virtual void onDestroy() = 0;
};

// A filter on responses, run in reverse config order.
class StreamEncoderFilter {
 public:
  virtual ~StreamEncoderFilter() = default;
  virtual void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks& callbacks) = 0;
  virtual FilterHeadersStatus encodeHeaders(ResponseHeaderMap& headers, bool end_stream) = 0;
  virtual FilterDataStatus encodeData(buffer::Instance& data, bool end_stream) = 0;
  virtual FilterTrailersStatus encodeTrailers(HeaderMap& trailers) = 0;
  virtual void onDestroy() = 0;
};

// Both directions (stats, header rewriting).
class StreamFilter : public StreamDecoderFilter, public StreamEncoderFilter {
 public:
  // One onDestroy() for both roles.
  void onDestroy() override = 0;
};

using StreamDecoderFilterSharedPtr = std::shared_ptr<StreamDecoderFilter>;
using StreamEncoderFilterSharedPtr = std::shared_ptr<StreamEncoderFilter>;
using StreamFilterSharedPtr = std::shared_ptr<StreamFilter>;

// Where an HTTP filter chain factory installs the filters of one new stream.
class FilterChainFactoryCallbacks {
 public:
  virtual ~FilterChainFactoryCallbacks() = default;
  virtual void addStreamDecoderFilter(StreamDecoderFilterSharedPtr filter) = 0;
  virtual void addStreamEncoderFilter(StreamEncoderFilterSharedPtr filter) = 0;
  virtual void addStreamFilter(StreamFilterSharedPtr filter) = 0;
};

}  // namespace proxy::http
