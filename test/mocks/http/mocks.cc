#include "test/mocks/http/mocks.h"

#include <algorithm>

#include "api/buffer/buffer.h"

using testing::_;
using testing::Return;
using testing::ReturnPointee;
using testing::ReturnRef;

namespace proxy::http {

MockStreamDecoderFilterCallbacks::MockStreamDecoderFilterCallbacks() {
  ON_CALL(*this, connection()).WillByDefault(ReturnPointee(&connection_));
  ON_CALL(*this, dispatcher()).WillByDefault(ReturnRef(dispatcher_));
  ON_CALL(*this, streamInfo()).WillByDefault(ReturnRef(stream_info_));
  ON_CALL(*this, route()).WillByDefault(ReturnRef(route_));
  ON_CALL(*this, continueDecoding()).WillByDefault([this]() { ++continue_decoding_calls_; });
  ON_CALL(*this, setRoute(_)).WillByDefault([this](RouteConstSharedPtr route) {
    if (route_ != nullptr) {
      return false;
    }
    route_ = std::move(route);
    return true;
  });
  ON_CALL(*this, sendLocalReply(_, _)).WillByDefault([this](int code, std::string_view body) {
    local_reply_code_ = code;
    local_reply_body_ = std::string(body);
    ++local_replies_;
  });
  ON_CALL(*this, encodeHeaders(_, _))
      .WillByDefault([this](ResponseHeaderMapPtr headers, bool end_stream) {
        response_headers_ = std::move(headers);
        response_end_stream_ = end_stream;
      });
  ON_CALL(*this, encodeData(_, _)).WillByDefault([this](buffer::Instance& data, bool end_stream) {
    response_body_ += data.toString();
    data.drain(data.length());
    response_end_stream_ = response_end_stream_ || end_stream;
  });
  ON_CALL(*this, encodeTrailers(_)).WillByDefault([this](HeaderMapPtr trailers) {
    response_trailers_ = std::move(trailers);
    response_end_stream_ = true;
  });
  ON_CALL(*this, encode1xxHeaders(_)).WillByDefault([this](ResponseHeaderMapPtr headers) {
    interim_headers_.push_back(std::move(headers));
  });
  ON_CALL(*this, readDisableDownstream(_)).WillByDefault([this](bool disable) {
    read_disable_count_ += disable ? 1 : -1;
  });
  ON_CALL(*this, addDownstreamWatermarkCallbacks(_))
      .WillByDefault([this](DownstreamWatermarkCallbacks& callbacks) {
        watermark_callbacks_.push_back(&callbacks);
      });
  ON_CALL(*this, removeDownstreamWatermarkCallbacks(_))
      .WillByDefault([this](DownstreamWatermarkCallbacks& callbacks) {
        watermark_callbacks_.erase(
            std::remove(watermark_callbacks_.begin(), watermark_callbacks_.end(), &callbacks),
            watermark_callbacks_.end());
      });
  ON_CALL(*this, resetStream()).WillByDefault([this]() { reset_ = true; });
}

MockStreamDecoderFilterCallbacks::~MockStreamDecoderFilterCallbacks() = default;

MockStreamEncoderFilterCallbacks::MockStreamEncoderFilterCallbacks() {
  ON_CALL(*this, connection()).WillByDefault(ReturnPointee(&connection_));
  ON_CALL(*this, dispatcher()).WillByDefault(ReturnRef(dispatcher_));
  ON_CALL(*this, streamInfo()).WillByDefault(ReturnRef(stream_info_));
  ON_CALL(*this, route()).WillByDefault(ReturnRef(route_));
  ON_CALL(*this, continueEncoding()).WillByDefault([this]() { ++continue_encoding_calls_; });
}

MockStreamEncoderFilterCallbacks::~MockStreamEncoderFilterCallbacks() = default;

MockStreamDecoderFilter::MockStreamDecoderFilter() {
  ON_CALL(*this, setDecoderFilterCallbacks(_))
      .WillByDefault(
          [this](StreamDecoderFilterCallbacks& callbacks) { decoder_callbacks_ = &callbacks; });
  ON_CALL(*this, decodeHeaders(_, _)).WillByDefault(Return(FilterHeadersStatus::kContinue));
  ON_CALL(*this, decodeData(_, _)).WillByDefault(Return(FilterDataStatus::kContinue));
  ON_CALL(*this, decodeTrailers(_)).WillByDefault(Return(FilterTrailersStatus::kContinue));
}

MockStreamDecoderFilter::~MockStreamDecoderFilter() = default;

MockStreamEncoderFilter::MockStreamEncoderFilter() {
  ON_CALL(*this, setEncoderFilterCallbacks(_))
      .WillByDefault(
          [this](StreamEncoderFilterCallbacks& callbacks) { encoder_callbacks_ = &callbacks; });
  ON_CALL(*this, encodeHeaders(_, _)).WillByDefault(Return(FilterHeadersStatus::kContinue));
  ON_CALL(*this, encodeData(_, _)).WillByDefault(Return(FilterDataStatus::kContinue));
  ON_CALL(*this, encodeTrailers(_)).WillByDefault(Return(FilterTrailersStatus::kContinue));
}

MockStreamEncoderFilter::~MockStreamEncoderFilter() = default;

MockStreamFilter::MockStreamFilter() {
  ON_CALL(*this, setDecoderFilterCallbacks(_))
      .WillByDefault(
          [this](StreamDecoderFilterCallbacks& callbacks) { decoder_callbacks_ = &callbacks; });
  ON_CALL(*this, decodeHeaders(_, _)).WillByDefault(Return(FilterHeadersStatus::kContinue));
  ON_CALL(*this, decodeData(_, _)).WillByDefault(Return(FilterDataStatus::kContinue));
  ON_CALL(*this, decodeTrailers(_)).WillByDefault(Return(FilterTrailersStatus::kContinue));
  ON_CALL(*this, setEncoderFilterCallbacks(_))
      .WillByDefault(
          [this](StreamEncoderFilterCallbacks& callbacks) { encoder_callbacks_ = &callbacks; });
  ON_CALL(*this, encodeHeaders(_, _)).WillByDefault(Return(FilterHeadersStatus::kContinue));
  ON_CALL(*this, encodeData(_, _)).WillByDefault(Return(FilterDataStatus::kContinue));
  ON_CALL(*this, encodeTrailers(_)).WillByDefault(Return(FilterTrailersStatus::kContinue));
}

MockStreamFilter::~MockStreamFilter() = default;

MockFilterChainFactoryCallbacks::MockFilterChainFactoryCallbacks() {
  ON_CALL(*this, addStreamDecoderFilter(_))
      .WillByDefault([this](StreamDecoderFilterSharedPtr filter) {
        decoder_filters_.push_back(std::move(filter));
      });
  ON_CALL(*this, addStreamEncoderFilter(_))
      .WillByDefault([this](StreamEncoderFilterSharedPtr filter) {
        encoder_filters_.push_back(std::move(filter));
      });
  ON_CALL(*this, addStreamFilter(_)).WillByDefault([this](StreamFilterSharedPtr filter) {
    decoder_filters_.push_back(filter);
    encoder_filters_.push_back(filter);
    stream_filters_.push_back(std::move(filter));
  });
}

MockFilterChainFactoryCallbacks::~MockFilterChainFactoryCallbacks() = default;

}  // namespace proxy::http
