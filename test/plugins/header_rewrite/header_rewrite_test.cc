#include "plugins/header_rewrite/header_rewrite.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/buffer/buffer_impl.h"
#include "plugins/header_rewrite/config.h"
#include "test/mocks/http/mocks.h"
#include "test/mocks/registry/mocks.h"

namespace proxy::plugins::header_rewrite {
namespace {

using testing::ElementsAre;
using testing::NiceMock;

// "name: value" lines of `headers`, in order.
std::vector<std::string> lines(const http::HeaderMap& headers) {
  std::vector<std::string> out;
  for (const auto& entry : headers.entries()) {
    out.push_back(std::string(entry.name) + ": " + std::string(entry.value));
  }
  return out;
}

class HeaderRewriteFilterTest : public testing::Test {
 protected:
  // Builds the factory from `yaml` and installs one filter, as the connection manager would
  // for a new stream.
  void build(const std::string& yaml) {
    registry::HttpFilterFactoryCb install =
        factory_.createFilterFactory(YAML::Load(yaml), context_);
    NiceMock<http::MockFilterChainFactoryCallbacks> chain;
    install(chain);
    ASSERT_EQ(chain.stream_filters_.size(), 1u);
    filter_ = chain.stream_filters_[0];
    filter_->setDecoderFilterCallbacks(decoder_callbacks_);
    filter_->setEncoderFilterCallbacks(encoder_callbacks_);
  }

  HeaderRewriteFactory factory_;
  NiceMock<registry::MockFactoryContext> context_;
  NiceMock<http::MockStreamDecoderFilterCallbacks> decoder_callbacks_;
  NiceMock<http::MockStreamEncoderFilterCallbacks> encoder_callbacks_;
  http::StreamFilterSharedPtr filter_;
};

TEST_F(HeaderRewriteFilterTest, FactoryDeclaresAHeadersOnlyNonTerminalFilter) {
  EXPECT_EQ("header_rewrite", factory_.name());
  EXPECT_FALSE(factory_.capabilities().terminal);
  EXPECT_FALSE(factory_.capabilities().reads_body);
}

TEST_F(HeaderRewriteFilterTest, RequestRulesApplyInOrderRemoveRewriteSetAdd) {
  build(R"(
request:
  remove: [X-Internal]
  rewrite: [{name: X-Path, prefix: /old/, replacement: /new/}]
  set: [{name: X-Env, value: prod}]
  add: [{name: Via, value: "1.1 edge"}]
)");
  http::RequestHeaderMap headers;
  headers.setPath("/");
  headers.add("Host", "example.com");
  headers.add("x-internal", "secret");
  headers.add("X-Path", "/old/a");
  headers.add("X-Env", "dev");
  headers.add("x-env", "test");
  headers.add("X-INTERNAL", "again");
  headers.add("Via", "1.1 client");
  EXPECT_EQ(http::FilterHeadersStatus::kContinue, filter_->decodeHeaders(headers, true));
  // Both X-Internal go whatever their case; the rewrite keeps its place; set leaves one
  // X-Env where the first was; add appends after the existing Via.
  EXPECT_THAT(lines(headers), ElementsAre("Host: example.com", "X-Path: /new/a", "X-Env: prod",
                                          "Via: 1.1 client", "Via: 1.1 edge"));
}

TEST_F(HeaderRewriteFilterTest, SetAddsTheHeaderWhenAbsent) {
  build("request: {set: [{name: X-Env, value: prod}]}");
  http::RequestHeaderMap headers;
  headers.add("Host", "example.com");
  filter_->decodeHeaders(headers, true);
  EXPECT_THAT(lines(headers), ElementsAre("Host: example.com", "X-Env: prod"));
}

TEST_F(HeaderRewriteFilterTest, RewriteChangesOnlyValuesWithThePrefix) {
  build(R"(
response:
  rewrite:
    - {name: Location, prefix: "http://backend:8080/", replacement: "https://example.com/"}
)");
  http::ResponseHeaderMap headers;
  headers.setStatus(302);
  headers.add("Location", "http://backend:8080/login?next=/");
  headers.add("Location", "https://elsewhere/");
  headers.add("X-Location", "http://backend:8080/x");
  EXPECT_EQ(http::FilterHeadersStatus::kContinue, filter_->encodeHeaders(headers, false));
  EXPECT_THAT(lines(headers),
              ElementsAre("Location: https://example.com/login?next=/",
                          "Location: https://elsewhere/", "X-Location: http://backend:8080/x"));
}

TEST_F(HeaderRewriteFilterTest, FirstMatchingRewriteWinsForEachHeader) {
  build(R"(
request:
  rewrite:
    - {name: X-Tier, prefix: gold, replacement: platinum}
    - {name: X-Tier, prefix: go, replacement: stay}
)");
  http::RequestHeaderMap headers;
  headers.add("X-Tier", "gold-1");
  headers.add("X-Tier", "good");
  filter_->decodeHeaders(headers, true);
  EXPECT_THAT(lines(headers), ElementsAre("X-Tier: platinum-1", "X-Tier: stayod"));
}

TEST_F(HeaderRewriteFilterTest, RewriteNeverLeavesSurroundingWhitespace) {
  build(R"(request: {rewrite: [{name: Authorization, prefix: "Token", replacement: ""}]})");
  http::RequestHeaderMap headers;
  headers.add("Authorization", "Token abc");
  filter_->decodeHeaders(headers, true);
  EXPECT_THAT(lines(headers), ElementsAre("Authorization: abc"));
}

TEST_F(HeaderRewriteFilterTest, EachDirectionUsesItsOwnRules) {
  build(R"(
request: {add: [{name: X-Request-Rule, value: "1"}]}
response: {remove: [Server]}
)");
  http::RequestHeaderMap request;
  request.add("Server", "kept in the request");
  filter_->decodeHeaders(request, false);
  EXPECT_THAT(lines(request), ElementsAre("Server: kept in the request", "X-Request-Rule: 1"));
  http::ResponseHeaderMap response;
  response.add("Server", "upstream/1.0");
  response.add("Content-Length", "0");
  filter_->encodeHeaders(response, true);
  EXPECT_THAT(lines(response), ElementsAre("Content-Length: 0"));
}

TEST_F(HeaderRewriteFilterTest, BodyAndTrailersPassUntouched) {
  build("request: {remove: [X-A]}\nresponse: {remove: [X-A]}");
  buffer::OwnedBuffer body;
  body.add("X-A: not a header");
  http::HeaderMap trailers;
  trailers.add("X-A", "trailer");
  EXPECT_EQ(http::FilterDataStatus::kContinue, filter_->decodeData(body, false));
  EXPECT_EQ(http::FilterTrailersStatus::kContinue, filter_->decodeTrailers(trailers));
  EXPECT_EQ(http::FilterDataStatus::kContinue, filter_->encodeData(body, true));
  EXPECT_EQ(http::FilterTrailersStatus::kContinue, filter_->encodeTrailers(trailers));
  EXPECT_EQ("X-A: not a header", body.toString());
  EXPECT_THAT(lines(trailers), ElementsAre("X-A: trailer"));
  filter_->onDestroy();
}

TEST_F(HeaderRewriteFilterTest, EveryStreamGetsItsOwnFilterSharingOneConfig) {
  registry::HttpFilterFactoryCb install =
      factory_.createFilterFactory(YAML::Load("request: {remove: [X-A]}"), context_);
  NiceMock<http::MockFilterChainFactoryCallbacks> chain;
  install(chain);
  install(chain);
  ASSERT_EQ(chain.stream_filters_.size(), 2u);
  EXPECT_NE(chain.stream_filters_[0], chain.stream_filters_[1]);
}

}  // namespace
}  // namespace proxy::plugins::header_rewrite
