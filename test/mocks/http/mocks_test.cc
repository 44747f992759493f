// Instantiates every HTTP mock once and checks the defaults other tests rely on.

#include "test/mocks/http/mocks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "api/buffer/buffer.h"
#include "common/router/route_impl.h"

namespace proxy::http {
namespace {

using testing::NiceMock;

class CountingWatermarks : public DownstreamWatermarkCallbacks {
 public:
  void onAboveWriteBufferHighWatermark() override {}
  void onBelowWriteBufferLowWatermark() override {}
};

TEST(HttpMocksTest, DecoderFilterCallbacksDefaults) {
  NiceMock<MockStreamDecoderFilterCallbacks> callbacks;
  EXPECT_EQ(callbacks.connection(), nullptr);
  EXPECT_EQ(&callbacks.dispatcher(), &callbacks.dispatcher_);
  EXPECT_EQ(&callbacks.streamInfo(), &callbacks.stream_info_);
  EXPECT_EQ(callbacks.route(), nullptr);

  auto first = std::make_shared<proxy::router::RouteImpl>("first", "test", nullptr, false);
  auto second = std::make_shared<proxy::router::RouteImpl>("second", "test", nullptr, false);
  EXPECT_TRUE(callbacks.setRoute(first));
  EXPECT_FALSE(callbacks.setRoute(second));
  EXPECT_EQ(callbacks.route(), first);

  callbacks.sendLocalReply(404, "no route\n");
  EXPECT_EQ(callbacks.local_reply_code_, 404);
  EXPECT_EQ(callbacks.local_reply_body_, "no route\n");
  EXPECT_EQ(callbacks.local_replies_, 1);

  auto headers = std::make_unique<ResponseHeaderMap>();
  headers->setStatus(201);
  callbacks.encodeHeaders(std::move(headers), false);
  ASSERT_NE(callbacks.response_headers_, nullptr);
  EXPECT_EQ(callbacks.response_headers_->status(), 201);
  auto body = buffer::create();
  body->add("hello");
  callbacks.encodeData(*body, true);
  EXPECT_EQ(callbacks.response_body_, "hello");
  EXPECT_EQ(body->length(), 0u);
  EXPECT_TRUE(callbacks.response_end_stream_);
  callbacks.encodeTrailers(std::make_unique<HeaderMap>());
  EXPECT_NE(callbacks.response_trailers_, nullptr);
  callbacks.encode1xxHeaders(std::make_unique<ResponseHeaderMap>());
  EXPECT_EQ(callbacks.interim_headers_.size(), 1u);

  callbacks.continueDecoding();
  EXPECT_EQ(callbacks.continue_decoding_calls_, 1);
  callbacks.readDisableDownstream(true);
  callbacks.readDisableDownstream(true);
  callbacks.readDisableDownstream(false);
  EXPECT_EQ(callbacks.read_disable_count_, 1);
  CountingWatermarks watermarks;
  callbacks.addDownstreamWatermarkCallbacks(watermarks);
  EXPECT_EQ(callbacks.watermark_callbacks_.size(), 1u);
  callbacks.removeDownstreamWatermarkCallbacks(watermarks);
  EXPECT_TRUE(callbacks.watermark_callbacks_.empty());
  callbacks.resetStream();
  EXPECT_TRUE(callbacks.reset_);
}

TEST(HttpMocksTest, EncoderFilterCallbacksDefaults) {
  NiceMock<MockStreamEncoderFilterCallbacks> callbacks;
  EXPECT_EQ(callbacks.connection(), nullptr);
  EXPECT_EQ(&callbacks.dispatcher(), &callbacks.dispatcher_);
  EXPECT_EQ(&callbacks.streamInfo(), &callbacks.stream_info_);
  EXPECT_EQ(callbacks.route(), nullptr);
  callbacks.continueEncoding();
  EXPECT_EQ(callbacks.continue_encoding_calls_, 1);
}

TEST(HttpMocksTest, FiltersAndChainCallbacks) {
  NiceMock<MockStreamDecoderFilterCallbacks> decoder_callbacks;
  NiceMock<MockStreamEncoderFilterCallbacks> encoder_callbacks;
  RequestHeaderMap request;
  ResponseHeaderMap response;
  HeaderMap trailers;
  auto data = buffer::create();

  auto decoder = std::make_shared<NiceMock<MockStreamDecoderFilter>>();
  decoder->setDecoderFilterCallbacks(decoder_callbacks);
  EXPECT_EQ(decoder->decoder_callbacks_, &decoder_callbacks);
  EXPECT_EQ(decoder->decodeHeaders(request, false), FilterHeadersStatus::kContinue);
  EXPECT_EQ(decoder->decodeData(*data, false), FilterDataStatus::kContinue);
  EXPECT_EQ(decoder->decodeTrailers(trailers), FilterTrailersStatus::kContinue);

  auto encoder = std::make_shared<NiceMock<MockStreamEncoderFilter>>();
  encoder->setEncoderFilterCallbacks(encoder_callbacks);
  EXPECT_EQ(encoder->encoder_callbacks_, &encoder_callbacks);
  EXPECT_EQ(encoder->encodeHeaders(response, false), FilterHeadersStatus::kContinue);
  EXPECT_EQ(encoder->encodeData(*data, true), FilterDataStatus::kContinue);
  EXPECT_EQ(encoder->encodeTrailers(trailers), FilterTrailersStatus::kContinue);

  auto both = std::make_shared<NiceMock<MockStreamFilter>>();
  both->setDecoderFilterCallbacks(decoder_callbacks);
  both->setEncoderFilterCallbacks(encoder_callbacks);
  EXPECT_EQ(both->decoder_callbacks_, &decoder_callbacks);
  EXPECT_EQ(both->encoder_callbacks_, &encoder_callbacks);
  EXPECT_EQ(both->decodeHeaders(request, true), FilterHeadersStatus::kContinue);
  EXPECT_EQ(both->encodeHeaders(response, true), FilterHeadersStatus::kContinue);

  NiceMock<MockFilterChainFactoryCallbacks> chain;
  chain.addStreamDecoderFilter(decoder);
  chain.addStreamEncoderFilter(encoder);
  chain.addStreamFilter(both);
  EXPECT_EQ(chain.decoder_filters_.size(), 2u);
  EXPECT_EQ(chain.encoder_filters_.size(), 2u);
  EXPECT_EQ(chain.stream_filters_.size(), 1u);
  decoder->onDestroy();
  encoder->onDestroy();
  both->onDestroy();
}

}  // namespace
}  // namespace proxy::http
