#pragma once

#include <gmock/gmock.h>

#include <string>
#include <vector>

#include "api/http/filter.h"
#include "api/http/header_map.h"
#include "api/http/route.h"
#include "api/http/stream_info.h"
#include "test/mocks/event/mocks.h"

namespace proxy::http {

// Defaults (NiceMock-friendly, as in Envoy):
//  - connection() returns connection_ (nullptr unless a test sets it); dispatcher() the
//    NiceMock dispatcher_; streamInfo() stream_info_.
//  - setRoute() keeps the first route in route_ and returns true; later calls return false
//    and change nothing, as the connection manager does. route() returns route_.
//  - sendLocalReply() records local_reply_code_ and local_reply_body_ (the last reply) and
//    counts local_replies_.
//  - encodeHeaders()/encodeData()/encodeTrailers()/encode1xxHeaders() keep what they are
//    given: response_headers_ (with response_end_stream_), response_body_ (the bytes are
//    drained), response_trailers_, interim_headers_.
//  - continueDecoding() counts continue_decoding_calls_; readDisableDownstream() nests in
//    read_disable_count_; the watermark callbacks are kept in watermark_callbacks_;
//    resetStream() sets reset_.
class MockStreamDecoderFilterCallbacks : public StreamDecoderFilterCallbacks {
 public:
  MockStreamDecoderFilterCallbacks();
  ~MockStreamDecoderFilterCallbacks() override;

  // http::StreamFilterCallbacks
  MOCK_METHOD(network::Connection*, connection, (), (override));
  MOCK_METHOD(event::Dispatcher&, dispatcher, (), (override));
  MOCK_METHOD(StreamInfo&, streamInfo, (), (override));
  MOCK_METHOD(const RouteConstSharedPtr&, route, (), (const, override));

  // http::StreamDecoderFilterCallbacks
  MOCK_METHOD(void, continueDecoding, (), (override));
  MOCK_METHOD(bool, setRoute, (RouteConstSharedPtr route), (override));
  MOCK_METHOD(void, sendLocalReply, (int code, std::string_view body), (override));
  MOCK_METHOD(void, encodeHeaders, (ResponseHeaderMapPtr headers, bool end_stream), (override));
  MOCK_METHOD(void, encodeData, (buffer::Instance & data, bool end_stream), (override));
  MOCK_METHOD(void, encodeTrailers, (HeaderMapPtr trailers), (override));
  MOCK_METHOD(void, encode1xxHeaders, (ResponseHeaderMapPtr headers), (override));
  MOCK_METHOD(void, readDisableDownstream, (bool disable), (override));
  MOCK_METHOD(void, addDownstreamWatermarkCallbacks, (DownstreamWatermarkCallbacks & callbacks),
              (override));
  MOCK_METHOD(void, removeDownstreamWatermarkCallbacks, (DownstreamWatermarkCallbacks & callbacks),
              (override));
  MOCK_METHOD(void, resetStream, (), (override));

  network::Connection* connection_ = nullptr;
  testing::NiceMock<event::MockDispatcher> dispatcher_;
  StreamInfo stream_info_;
  RouteConstSharedPtr route_;
  int local_reply_code_ = 0;
  std::string local_reply_body_;
  int local_replies_ = 0;
  ResponseHeaderMapPtr response_headers_;
  bool response_end_stream_ = false;
  std::string response_body_;
  HeaderMapPtr response_trailers_;
  std::vector<ResponseHeaderMapPtr> interim_headers_;
  int continue_decoding_calls_ = 0;
  int read_disable_count_ = 0;
  std::vector<DownstreamWatermarkCallbacks*> watermark_callbacks_;
  bool reset_ = false;
};

// connection(), dispatcher(), streamInfo() and route() as in MockStreamDecoderFilterCallbacks;
// continueEncoding() counts continue_encoding_calls_.
class MockStreamEncoderFilterCallbacks : public StreamEncoderFilterCallbacks {
 public:
  MockStreamEncoderFilterCallbacks();
  ~MockStreamEncoderFilterCallbacks() override;

  // http::StreamFilterCallbacks
  MOCK_METHOD(network::Connection*, connection, (), (override));
  MOCK_METHOD(event::Dispatcher&, dispatcher, (), (override));
  MOCK_METHOD(StreamInfo&, streamInfo, (), (override));
  MOCK_METHOD(const RouteConstSharedPtr&, route, (), (const, override));

  // http::StreamEncoderFilterCallbacks
  MOCK_METHOD(void, continueEncoding, (), (override));

  network::Connection* connection_ = nullptr;
  testing::NiceMock<event::MockDispatcher> dispatcher_;
  StreamInfo stream_info_;
  RouteConstSharedPtr route_;
  int continue_encoding_calls_ = 0;
};

// Keeps the callbacks in decoder_callbacks_; the decode methods return kContinue.
class MockStreamDecoderFilter : public StreamDecoderFilter {
 public:
  MockStreamDecoderFilter();
  ~MockStreamDecoderFilter() override;

  // http::StreamDecoderFilter
  MOCK_METHOD(void, setDecoderFilterCallbacks, (StreamDecoderFilterCallbacks & callbacks),
              (override));
  MOCK_METHOD(FilterHeadersStatus, decodeHeaders, (RequestHeaderMap & headers, bool end_stream),
              (override));
  MOCK_METHOD(FilterDataStatus, decodeData, (buffer::Instance & data, bool end_stream), (override));
  MOCK_METHOD(FilterTrailersStatus, decodeTrailers, (HeaderMap & trailers), (override));
  MOCK_METHOD(void, onDestroy, (), (override));

  StreamDecoderFilterCallbacks* decoder_callbacks_ = nullptr;
};

// Keeps the callbacks in encoder_callbacks_; the encode methods return kContinue.
class MockStreamEncoderFilter : public StreamEncoderFilter {
 public:
  MockStreamEncoderFilter();
  ~MockStreamEncoderFilter() override;

  // http::StreamEncoderFilter
  MOCK_METHOD(void, setEncoderFilterCallbacks, (StreamEncoderFilterCallbacks & callbacks),
              (override));
  MOCK_METHOD(FilterHeadersStatus, encodeHeaders, (ResponseHeaderMap & headers, bool end_stream),
              (override));
  MOCK_METHOD(FilterDataStatus, encodeData, (buffer::Instance & data, bool end_stream), (override));
  MOCK_METHOD(FilterTrailersStatus, encodeTrailers, (HeaderMap & trailers), (override));
  MOCK_METHOD(void, onDestroy, (), (override));

  StreamEncoderFilterCallbacks* encoder_callbacks_ = nullptr;
};

// The defaults of MockStreamDecoderFilter and MockStreamEncoderFilter together.
class MockStreamFilter : public StreamFilter {
 public:
  MockStreamFilter();
  ~MockStreamFilter() override;

  // http::StreamDecoderFilter
  MOCK_METHOD(void, setDecoderFilterCallbacks, (StreamDecoderFilterCallbacks & callbacks),
              (override));
  MOCK_METHOD(FilterHeadersStatus, decodeHeaders, (RequestHeaderMap & headers, bool end_stream),
              (override));
  MOCK_METHOD(FilterDataStatus, decodeData, (buffer::Instance & data, bool end_stream), (override));
  MOCK_METHOD(FilterTrailersStatus, decodeTrailers, (HeaderMap & trailers), (override));

  // http::StreamEncoderFilter
  MOCK_METHOD(void, setEncoderFilterCallbacks, (StreamEncoderFilterCallbacks & callbacks),
              (override));
  MOCK_METHOD(FilterHeadersStatus, encodeHeaders, (ResponseHeaderMap & headers, bool end_stream),
              (override));
  MOCK_METHOD(FilterDataStatus, encodeData, (buffer::Instance & data, bool end_stream), (override));
  MOCK_METHOD(FilterTrailersStatus, encodeTrailers, (HeaderMap & trailers), (override));

  // http::StreamFilter
  MOCK_METHOD(void, onDestroy, (), (override));

  StreamDecoderFilterCallbacks* decoder_callbacks_ = nullptr;
  StreamEncoderFilterCallbacks* encoder_callbacks_ = nullptr;
};

// Keeps what an HTTP filter chain factory installs, in call order: decoder_filters_ and
// encoder_filters_ (addStreamFilter adds to both, and to stream_filters_).
class MockFilterChainFactoryCallbacks : public FilterChainFactoryCallbacks {
 public:
  MockFilterChainFactoryCallbacks();
  ~MockFilterChainFactoryCallbacks() override;

  // http::FilterChainFactoryCallbacks
  MOCK_METHOD(void, addStreamDecoderFilter, (StreamDecoderFilterSharedPtr filter), (override));
  MOCK_METHOD(void, addStreamEncoderFilter, (StreamEncoderFilterSharedPtr filter), (override));
  MOCK_METHOD(void, addStreamFilter, (StreamFilterSharedPtr filter), (override));

  std::vector<StreamDecoderFilterSharedPtr> decoder_filters_;
  std::vector<StreamEncoderFilterSharedPtr> encoder_filters_;
  std::vector<StreamFilterSharedPtr> stream_filters_;
};

}  // namespace proxy::http
