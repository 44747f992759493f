#include "common/http/server_codec_impl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "common/buffer/buffer_impl.h"

using testing::_;
using testing::ElementsAre;
using testing::InSequence;
using testing::Invoke;
using testing::StrictMock;

namespace proxy::http {
namespace {

// Records every callback as a line of text, so a test can compare the whole sequence.
class RecordingServerCallbacks : public ServerCodecCallbacks {
 public:
  void onRequestHeaders(RequestHeaderMapPtr headers, bool end_stream) override {
    std::string event = "H " + std::string(headers->method()) + " " + std::string(headers->path()) +
                        (headers->version() == 10 ? " HTTP/1.0" : " HTTP/1.1");
    for (const HeaderMap::Entry& entry : headers->entries()) {
      event += " [" + std::string(entry.name) + "=" + std::string(entry.value) + "]";
    }
    event += end_stream ? " end" : "";
    events.push_back(event);
    requests.push_back(std::move(headers));
    if (on_headers) {
      on_headers(end_stream);
    }
  }
  void onRequestData(buffer::Instance& data, bool end_stream) override {
    std::string bytes = data.toString();
    body += bytes;
    ++data_calls;
    last_data_end = end_stream;
    events.push_back("D " + bytes + (end_stream ? " end" : ""));
    data.drain(data.length());
    if (on_data) {
      on_data(end_stream);
    }
  }
  void onRequestTrailers(HeaderMapPtr trailers) override {
    std::string event = "T";
    for (const HeaderMap::Entry& entry : trailers->entries()) {
      event += " [" + std::string(entry.name) + "=" + std::string(entry.value) + "]";
    }
    events.push_back(event);
    if (on_trailers) {
      on_trailers();
    }
  }

  std::vector<std::string> events;
  std::vector<RequestHeaderMapPtr> requests;
  std::string body;
  int data_calls = 0;
  bool last_data_end = false;
  std::function<void(bool)> on_headers;
  std::function<void(bool)> on_data;
  std::function<void()> on_trailers;
};

class MockServerCodecCallbacks : public ServerCodecCallbacks {
 public:
  MOCK_METHOD(void, onRequestHeaders, (RequestHeaderMapPtr headers, bool end_stream), (override));
  MOCK_METHOD(void, onRequestData, (buffer::Instance & data, bool end_stream), (override));
  MOCK_METHOD(void, onRequestTrailers, (HeaderMapPtr trailers), (override));
};

// Feeds `raw` in pieces of `step` bytes (0: all at once) into one input buffer, as a
// connection would, stopping at the first error.
std::optional<CodecError> feed(ServerCodec& codec, buffer::OwnedBuffer& input, std::string_view raw,
                               size_t step = 0) {
  if (step == 0) {
    step = raw.size();
  }
  for (size_t at = 0; at < raw.size(); at += step) {
    input.add(raw.substr(at, step));
    if (auto error = codec.dispatch(input)) {
      return error;
    }
  }
  return std::nullopt;
}

class ServerCodecTest : public testing::Test {
 protected:
  void reset(const CodecLimits& limits = CodecLimits{}) {
    recorder_ = RecordingServerCallbacks{};
    codec_ = createServerCodec(recorder_, limits);
    input_.drain(input_.length());
  }
  void SetUp() override { reset(); }

  std::optional<CodecError> feedAll(std::string_view raw, size_t step = 0) {
    return feed(*codec_, input_, raw, step);
  }

  ResponseHeaderMapPtr response(int status,
                                std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto map = std::make_unique<ResponseHeaderMap>();
    map->setStatus(status);
    for (auto& [name, value] : headers) {
      map->add(name, value);
    }
    return map;
  }

  std::string encode(const ResponseHeaderMap& headers, bool end_stream, bool close = false) {
    buffer::OwnedBuffer out;
    codec_->encodeHeaders(headers, end_stream, close, out);
    return out.toString();
  }
  std::string encodeData(std::string_view bytes, bool end_stream) {
    buffer::OwnedBuffer data;
    data.add(bytes);
    buffer::OwnedBuffer out;
    codec_->encodeData(data, end_stream, out);
    EXPECT_EQ(data.length(), 0u);
    return out.toString();
  }

  RecordingServerCallbacks recorder_;
  ServerCodecPtr codec_;
  buffer::OwnedBuffer input_;
};

// ---------------------------------------------------------------------------------------
// Rejections: raw bytes -> status and reason, fed whole and one byte at a time.

struct RejectCase {
  std::string name;
  std::string raw;
  int status;
  std::string reason;
  // The error is in the head: nothing at all may reach the callbacks, however it is split.
  bool head_error = true;
};

void PrintTo(const RejectCase& c, std::ostream* os) { *os << c.name; }

std::vector<RejectCase> rejectCases() {
  const std::string get = "GET / HTTP/1.1\r\nHost: a\r\n";
  const std::string post_chunked =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::vector<RejectCase> cases = {
      // Obsolete line folding (llhttp accepts it).
      {"FoldSpace", get + "X: a\r\n b\r\n\r\n", 400, "obsolete_line_folding"},
      {"FoldTab", get + "X: a\r\n\tb\r\n\r\n", 400, "obsolete_line_folding"},
      {"FoldAfterEmptyValue", get + "X:\r\n b\r\n\r\n", 400, "obsolete_line_folding"},
      {"FoldOfWhitespaceOnly", get + "X: a\r\n   \r\nY: b\r\n\r\n", 400, "obsolete_line_folding"},
      {"FoldOfHost", "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", 400, "obsolete_line_folding"},
      {"FoldInTrailers", post_chunked + "0\r\nT: a\r\n b\r\n\r\n", 400, "obsolete_line_folding",
       false},
      // Host.
      {"MissingHost", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400, "missing_host"},
      {"MissingHostNoHeaders", "GET / HTTP/1.1\r\n\r\n", 400, "missing_host"},
      {"MultipleHost", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "multiple_host"},
      {"MultipleHostSameValue", "GET / HTTP/1.1\r\nhost: a\r\nHOST: a\r\n\r\n", 400,
       "multiple_host"},
      {"MultipleHostOn10", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400, "multiple_host"},
      // HTTP/2 and versions.
      {"Http2Preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "http2_preface"},
      {"Http2PrefaceStartOnly", "PRI * HTTP/2.0\r\n", 400, "http2_preface"},
      {"PriMethodOn11", "PRI / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "http2_preface"},
      {"Version20", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "unsupported_version"},
      {"Version09", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, "unsupported_version"},
      {"Version12", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "unsupported_version"},
      {"Version30", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505, "unsupported_version"},
      {"VersionNoMinor", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400, "malformed"},
      {"VersionTwoDigits", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, "malformed"},
      {"VersionTrailingSpace", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "malformed"},
      {"VersionWrongProtocol", "GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400, "malformed"},
      {"NoVersionIsHttp09", "GET /\r\nHost: a\r\n\r\n", 505, "unsupported_version"},
      // Limits.
      {"UriTooLong", "GET /" + std::string(16 * 1024, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", 414,
       "uri_too_long"},
      {"HeaderTooLarge", get + "X: " + std::string(61 * 1024, 'v') + "\r\n\r\n", 431,
       "header_too_large"},
      {"NameTooLarge", get + std::string(61 * 1024, 'n') + ": v\r\n\r\n", 431, "header_too_large"},
      {"ManyHeadersTooLarge",
       [] {
         std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n";
         for (int i = 0; i < 90; ++i) {
           raw += "X-" + std::to_string(i) + ": " + std::string(700, 'v') + "\r\n";
         }
         return raw + "\r\n";
       }(),
       431, "header_too_large"},
      {"TooManyHeaders",
       [] {
         std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n";
         for (int i = 0; i < 100; ++i) {
           raw += "X-" + std::to_string(i) + ": v\r\n";
         }
         return raw + "\r\n";
       }(),
       431, "too_many_headers"},
      // Framing.
      {"ContentLengthWithChunked",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400, "bad_transfer_encoding"},
      {"ChunkedWithContentLength",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
       "0\r\n\r\n",
       400, "bad_transfer_encoding"},
      {"ZeroContentLengthWithChunked",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400, "bad_transfer_encoding"},
      {"DuplicateContentLength",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400,
       "bad_content_length"},
      {"ConflictingContentLength",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400,
       "bad_content_length"},
      {"ContentLengthList", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", 400,
       "bad_content_length"},
      {"NegativeContentLength", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -3\r\n\r\nabc", 400,
       "bad_content_length"},
      {"ContentLengthNotANumber", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3x\r\n\r\nabc",
       400, "bad_content_length"},
      {"ContentLengthEmpty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400,
       "bad_content_length"},
      {"ContentLengthInnerSpace", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400,
       "bad_content_length"},
      {"ContentLengthOverflow",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400,
       "bad_content_length"},
      {"TransferEncodingNotChunked",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
       "bad_transfer_encoding"},
      {"TransferEncodingChunkedNotLast",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400,
       "bad_transfer_encoding"},
      {"TransferEncodingChunkedTwice",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n",
       400, "bad_transfer_encoding"},
      {"TransferEncodingOtherCodingFirst",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
       "bad_transfer_encoding"},
      {"TransferEncodingOn10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400, "bad_transfer_encoding"},
      {"BadChunkSize", post_chunked + "zz\r\nabc\r\n0\r\n\r\n", 400, "bad_chunk", false},
      {"ChunkSizeOverflow", post_chunked + "fffffffffffffffffff\r\n", 400, "bad_chunk", false},
      {"ChunkWithoutCrlf", post_chunked + "3\r\nabcX\r\n0\r\n\r\n", 400, "bad_chunk", false},
      {"ChunkSizeSpace", post_chunked + "3 \r\nabc\r\n0\r\n\r\n", 400, "bad_chunk", false},
      {"ChunkLfOnly", post_chunked + "3\nabc\n0\n\n", 400, "bad_chunk", false},
      // What strict llhttp refuses.
      {"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "malformed"},
      {"NulInValue", std::string("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 29), 400, "malformed"},
      {"BareCrInValue", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, "malformed"},
      {"BareCrLineEnd", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400, "malformed"},
      {"LfOnlyRequestLine", "GET / HTTP/1.1\nHost: a\n\n", 400, "malformed"},
      {"ControlCharInValue", get + "X: a\x01\r\n\r\n", 400, "malformed"},
      {"DelInValue", get + "X: a\x7f\r\n\r\n", 400, "malformed"},
      {"EmptyHeaderName", get + ": v\r\n\r\n", 400, "malformed"},
      {"HeaderWithoutColon", get + "X\r\n\r\n", 400, "malformed"},
      {"NonTokenInName", get + "X-\x80: v\r\n\r\n", 400, "malformed"},
      {"SpaceStartsFirstHeader", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "malformed"},
      {"UnknownMethod", "FOO / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed"},
      {"LowercaseMethod", "get / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed"},
      {"SpaceInTarget", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed"},
      {"NonAsciiInTarget", "GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed"},
      {"TabInTarget", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed"},
      {"RelativeTarget", "GET a HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed"},
      {"TlsHandshake", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 400,
       "malformed"},
      {"Garbage", "hello world\r\n\r\n", 400, "malformed"},
      {"FragmentInTarget", "GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400, "fragment_in_target"},
      {"FragmentAfterQuery", "GET /a?x=1#f HTTP/1.1\r\nHost: a\r\n\r\n", 400, "fragment_in_target"},
      {"EmptyFragment", "GET /# HTTP/1.1\r\nHost: a\r\n\r\n", 400, "fragment_in_target"},
  };
  return cases;
}

class ServerCodecRejectTest : public ServerCodecTest,
                              public testing::WithParamInterface<RejectCase> {};

TEST_P(ServerCodecRejectTest, RejectedWhole) {
  const RejectCase& c = GetParam();
  auto error = feedAll(c.raw);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, c.status);
  EXPECT_EQ(error->reason, c.reason);
  if (c.head_error) {
    EXPECT_THAT(recorder_.events, ElementsAre());
  }
  // The error sticks: the codec is not used again, but asking again does no harm.
  auto again = codec_->dispatch(input_);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->reason, c.reason);
  EXPECT_FALSE(codec_->keepAlive());
}

TEST_P(ServerCodecRejectTest, RejectedByteByByte) {
  const RejectCase& c = GetParam();
  auto error = feedAll(c.raw, 1);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, c.status);
  EXPECT_EQ(error->reason, c.reason);
  if (c.head_error) {
    EXPECT_THAT(recorder_.events, ElementsAre());
  } else {
    EXPECT_FALSE(recorder_.last_data_end);
  }
}

TEST_P(ServerCodecRejectTest, RejectedInThreePieces) {
  const RejectCase& c = GetParam();
  auto error = feedAll(c.raw, c.raw.size() / 3 + 1);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, c.status);
  EXPECT_EQ(error->reason, c.reason);
  if (c.head_error) {
    EXPECT_THAT(recorder_.events, ElementsAre());
  }
}

INSTANTIATE_TEST_SUITE_P(Requests, ServerCodecRejectTest, testing::ValuesIn(rejectCases()),
                         [](const testing::TestParamInfo<RejectCase>& info) {
                           return info.param.name;
                         });

TEST_F(ServerCodecTest, BadChunkAfterHeadersWereDelivered) {
  EXPECT_FALSE(
      feedAll("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
              "3\r\nabc\r\n"));
  auto error = feedAll("xyz\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 400);
  EXPECT_EQ(error->reason, "bad_chunk");
  EXPECT_THAT(recorder_.events,
              ElementsAre("H POST /up HTTP/1.1 [Host=a] [Transfer-Encoding=chunked]", "D abc"));
}

TEST_F(ServerCodecTest, LimitsAreConfigurable) {
  reset(CodecLimits{200, 3, 10});
  auto error = feedAll("GET /0123456789 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 414);

  reset(CodecLimits{200, 3, 10});
  EXPECT_FALSE(feedAll("GET /012345678 HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"));
  ASSERT_EQ(recorder_.requests.size(), 1u);

  reset(CodecLimits{200, 3, 10});
  error = feedAll("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 431);
  EXPECT_EQ(error->reason, "too_many_headers");

  reset(CodecLimits{200, 3, 10});
  error = feedAll("GET / HTTP/1.1\r\nHost: a\r\nA: " + std::string(200, 'x') + "\r\n\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 431);
  EXPECT_EQ(error->reason, "header_too_large");
}

TEST_F(ServerCodecTest, HeadAtTheLimitsIsAccepted) {
  std::string raw = "GET /" + std::string(16 * 1024 - 1, 'a') + " HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 99; ++i) {
    raw += "X-" + std::to_string(i) + ": v\r\n";
  }
  raw += "\r\n";
  EXPECT_FALSE(feedAll(raw));
  ASSERT_EQ(recorder_.requests.size(), 1u);
  EXPECT_EQ(recorder_.requests[0]->path().size(), 16u * 1024);
  EXPECT_EQ(recorder_.requests[0]->size(), 100u);
}

TEST_F(ServerCodecTest, TooLargeHeadIsRefusedBeforeItEnds) {
  // No end of the head ever comes: the limit still holds, without buffering the bytes.
  std::optional<CodecError> error;
  error = feedAll("GET / HTTP/1.1\r\nHost: a\r\nX: ");
  for (int i = 0; i < 100 && !error; ++i) {
    error = feedAll(std::string(1024, 'v'));
  }
  ASSERT_TRUE(error);
  EXPECT_EQ(error->reason, "header_too_large");
  EXPECT_THAT(recorder_.events, ElementsAre());
}

TEST_F(ServerCodecTest, WhitespaceBeforeValueCountsTowardsTheLimit) {
  reset(CodecLimits{100, 100, 100});
  auto error = feedAll("GET / HTTP/1.1\r\nHost: a\r\nX:" + std::string(200, ' ') + "v\r\n\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->reason, "header_too_large");
}

// ---------------------------------------------------------------------------------------
// Requests that are fine.

TEST_F(ServerCodecTest, GetWithoutBody) {
  EXPECT_FALSE(
      feedAll("GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n"
              "X-Dup: 1\r\nx-dup: 2\r\n\r\n"));
  EXPECT_THAT(recorder_.events,
              ElementsAre("H GET /a/b?c=d HTTP/1.1 [Host=example.com] [Accept=*/*] [X-Dup=1] "
                          "[x-dup=2] end"));
  const RequestHeaderMap& headers = *recorder_.requests[0];
  EXPECT_EQ(headers.method(), "GET");
  EXPECT_EQ(headers.version(), 11);
  EXPECT_EQ(headers.get("host"), "example.com");
  EXPECT_EQ(headers.count("X-DUP"), 2u);
  EXPECT_EQ(input_.length(), 0u);
  EXPECT_TRUE(codec_->keepAlive());
}

TEST_F(ServerCodecTest, HeaderValuesAreTrimmed) {
  EXPECT_FALSE(
      feedAll("GET / HTTP/1.1\r\nHost:a\r\nX:   v  w \t \r\nEmpty:\r\nSpaces:   \r\n\r\n"));
  EXPECT_THAT(recorder_.events,
              ElementsAre("H GET / HTTP/1.1 [Host=a] [X=v  w] [Empty=] [Spaces=] end"));
}

TEST_F(ServerCodecTest, ObsTextInValueIsKept) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n"));
  ASSERT_EQ(recorder_.requests.size(), 1u);
  EXPECT_EQ(recorder_.requests[0]->get("x"), "caf\xc3\xa9");
}

TEST_F(ServerCodecTest, OtherTargetForms) {
  EXPECT_FALSE(feedAll("GET http://a.example/x?y HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  codec_->resume();
  EXPECT_FALSE(feedAll("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_THAT(recorder_.events,
              ElementsAre("H GET http://a.example/x?y HTTP/1.1 [Host=a.example] end",
                          "H OPTIONS * HTTP/1.1 [Host=a] end"));
}

TEST_F(ServerCodecTest, EmptyLinesBeforeRequestAreSkipped) {
  EXPECT_FALSE(feedAll("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_THAT(recorder_.events, ElementsAre("H GET / HTTP/1.1 [Host=a] end"));
}

TEST_F(ServerCodecTest, Http10WithoutHostIsAccepted) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_THAT(recorder_.events, ElementsAre("H GET / HTTP/1.0 end"));
  EXPECT_FALSE(codec_->keepAlive());
}

TEST_F(ServerCodecTest, EveryMethodLlhttpKnowsIsPassedThrough) {
  for (const char* method : {"DELETE", "PUT", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "PURGE"}) {
    reset();
    EXPECT_FALSE(feedAll(std::string(method) + " /x HTTP/1.1\r\nHost: a\r\n\r\n")) << method;
    ASSERT_EQ(recorder_.requests.size(), 1u) << method;
    EXPECT_EQ(recorder_.requests[0]->method(), method);
  }
}

TEST_F(ServerCodecTest, PostWithContentLengthSplitAtEveryByte) {
  const std::string raw =
      "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
      "hello world";
  for (size_t split = 0; split <= raw.size(); ++split) {
    reset();
    input_.add(raw.substr(0, split));
    ASSERT_FALSE(codec_->dispatch(input_)) << split;
    input_.add(raw.substr(split));
    ASSERT_FALSE(codec_->dispatch(input_)) << split;
    ASSERT_EQ(recorder_.requests.size(), 1u) << split;
    EXPECT_EQ(recorder_.events[0],
              "H POST /submit HTTP/1.1 [Host=a] [Content-Type=text/plain] [Content-Length=11]")
        << split;
    EXPECT_EQ(recorder_.body, "hello world") << split;
    EXPECT_TRUE(recorder_.last_data_end) << split;
    EXPECT_LE(recorder_.data_calls, 2) << split;
    EXPECT_EQ(input_.length(), 0u);
  }
}

TEST_F(ServerCodecTest, PostWithContentLengthOneBytePerDispatch) {
  const std::string raw = "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nX-Long: " +
                          std::string(3000, 'L') + "\r\n\r\nhello world";
  EXPECT_FALSE(feedAll(raw, 1));
  ASSERT_EQ(recorder_.requests.size(), 1u);
  // Pieces of one value across many reads and arena blocks come out whole.
  EXPECT_EQ(recorder_.requests[0]->get("x-long"), std::string(3000, 'L'));
  EXPECT_EQ(recorder_.requests[0]->get("content-length"), "11");
  EXPECT_EQ(recorder_.body, "hello world");
  EXPECT_EQ(recorder_.data_calls, 11);
  EXPECT_TRUE(recorder_.last_data_end);
}

TEST_F(ServerCodecTest, LargeHeadTrickledOneByteAtATime) {
  // A value split across many reads is joined in linear time, copied once into the map
  // (joining in the arena at each piece was quadratic in time and memory).
  const std::string value(59 * 1024, 'v');
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + value + "\r\n\r\n", 1));
  ASSERT_EQ(recorder_.requests.size(), 1u);
  EXPECT_EQ(recorder_.requests[0]->get("x-big"), value);
}

TEST_F(ServerCodecTest, BodyIsStreamedNotBuffered) {
  EXPECT_FALSE(feedAll("PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n"));
  EXPECT_THAT(recorder_.events,
              ElementsAre("H PUT /big HTTP/1.1 [Host=a] [Content-Length=100000]"));
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(feedAll(std::string(10000, 'x')));
    EXPECT_EQ(recorder_.body.size(), 10000u * (i + 1));
    EXPECT_EQ(input_.length(), 0u);
  }
  EXPECT_TRUE(recorder_.last_data_end);
}

TEST_F(ServerCodecTest, ChunkedWithExtensionsAndTrailers) {
  const std::string raw =
      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;a=b\r\nabc\r\n5;x;y\r\nhello\r\nA;q=\"quoted;v\"\r\n0123456789\r\n0\r\n"
      "Checksum: 42\r\nX-Trailer:  t \r\n\r\n";
  EXPECT_FALSE(feedAll(raw));
  EXPECT_THAT(recorder_.events,
              ElementsAre("H POST /up HTTP/1.1 [Host=a] [Transfer-Encoding=chunked]",
                          "D abchello0123456789", "T [Checksum=42] [X-Trailer=t]"));
  EXPECT_EQ(input_.length(), 0u);
}

TEST_F(ServerCodecTest, ChunkedWithTrailersOneBytePerDispatch) {
  const std::string raw =
      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;a=b\r\nabc\r\n5\r\nhello\r\n0\r\nChecksum: 42\r\n\r\n";
  EXPECT_FALSE(feedAll(raw, 1));
  EXPECT_EQ(recorder_.body, "abchello");
  EXPECT_FALSE(recorder_.last_data_end);
  EXPECT_EQ(recorder_.events.back(), "T [Checksum=42]");
}

TEST_F(ServerCodecTest, ChunkedWithoutTrailersEndsWithData) {
  EXPECT_FALSE(
      feedAll("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
              "3\r\nabc\r\n"));
  EXPECT_FALSE(feedAll("0\r\n\r\n"));
  EXPECT_THAT(
      recorder_.events,
      ElementsAre("H POST /up HTTP/1.1 [Host=a] [Transfer-Encoding=Chunked]", "D abc", "D  end"));
}

TEST_F(ServerCodecTest, EmptyChunkedBody) {
  EXPECT_FALSE(
      feedAll("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
  EXPECT_THAT(recorder_.events,
              ElementsAre("H POST /up HTTP/1.1 [Host=a] [Transfer-Encoding=chunked]", "D  end"));
}

TEST_F(ServerCodecTest, ZeroContentLengthHasNoBody) {
  EXPECT_FALSE(feedAll("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_THAT(recorder_.events, ElementsAre("H POST / HTTP/1.1 [Host=a] [Content-Length=0] end"));
}

TEST_F(ServerCodecTest, PipelinedRequestsAreAnsweredInOrder) {
  input_.add(
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
      "GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  const size_t second_and_third = input_.length() - 28;

  EXPECT_FALSE(codec_->dispatch(input_));
  EXPECT_THAT(recorder_.events, ElementsAre("H GET /1 HTTP/1.1 [Host=a] end"));
  EXPECT_EQ(input_.length(), second_and_third);
  // Until resume() the rest waits, however often dispatch() is called.
  EXPECT_FALSE(codec_->dispatch(input_));
  EXPECT_EQ(recorder_.events.size(), 1u);
  EXPECT_EQ(input_.length(), second_and_third);
  EXPECT_TRUE(codec_->keepAlive());

  codec_->resume();
  EXPECT_FALSE(codec_->dispatch(input_));
  EXPECT_THAT(recorder_.events,
              ElementsAre("H GET /1 HTTP/1.1 [Host=a] end",
                          "H POST /2 HTTP/1.1 [Host=a] [Content-Length=3]", "D abc end"));
  EXPECT_TRUE(codec_->keepAlive());

  codec_->resume();
  EXPECT_FALSE(codec_->dispatch(input_));
  EXPECT_EQ(recorder_.events.back(), "H GET /3 HTTP/1.1 [Host=a] [Connection=close] end");
  EXPECT_EQ(input_.length(), 0u);
  EXPECT_FALSE(codec_->keepAlive());
}

TEST_F(ServerCodecTest, PipelinedRequestsWithMockCallbacks) {
  StrictMock<MockServerCodecCallbacks> callbacks;
  ServerCodecPtr codec = createServerCodec(callbacks, CodecLimits{});
  buffer::OwnedBuffer input;
  input.add(
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
      "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n");
  InSequence sequence;
  for (const char* path : {"/1", "/2", "/3"}) {
    EXPECT_CALL(callbacks, onRequestHeaders(_, true))
        .WillOnce(Invoke(
            [path](RequestHeaderMapPtr headers, bool) { EXPECT_EQ(headers->path(), path); }));
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(codec->dispatch(input));
    codec->resume();
  }
  EXPECT_EQ(input.length(), 0u);
}

TEST_F(ServerCodecTest, ResumeFromInsideTheCallbackContinuesWithTheNextRequest) {
  // A local reply completes the exchange inside onRequestHeaders(end_stream=true).
  recorder_.on_headers = [this](bool end_stream) {
    if (end_stream) {
      buffer::OwnedBuffer out;
      codec_->encodeHeaders(*response(404), true, false, out);
      codec_->resume();
    }
  };
  EXPECT_FALSE(feedAll("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_THAT(recorder_.events,
              ElementsAre("H GET /1 HTTP/1.1 [Host=a] end", "H GET /2 HTTP/1.1 [Host=a] end"));
  EXPECT_EQ(input_.length(), 0u);
}

TEST_F(ServerCodecTest, ResumeBeforeTheRequestEndsIsIgnored) {
  recorder_.on_headers = [this](bool) { codec_->resume(); };
  EXPECT_FALSE(
      feedAll("POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab"
              "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_THAT(recorder_.events,
              ElementsAre("H POST /1 HTTP/1.1 [Host=a] [Content-Length=2]", "D ab end"));
}

TEST_F(ServerCodecTest, KeepAliveRules) {
  struct Case {
    const char* raw;
    bool keep_alive;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: foo, keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", false},
  };
  for (const Case& c : cases) {
    reset();
    EXPECT_FALSE(feedAll(c.raw)) << c.raw;
    EXPECT_EQ(codec_->keepAlive(), c.keep_alive) << c.raw;
  }
}

TEST_F(ServerCodecTest, Http10KeepAliveExchanges) {
  EXPECT_FALSE(
      feedAll("GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
              "GET /2 HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(codec_->keepAlive());
  EXPECT_EQ(encode(*response(200, {{"Content-Length", "2"}}), false),
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(encodeData("ok", true), "ok");
  EXPECT_TRUE(codec_->keepAlive());
  codec_->resume();
  EXPECT_FALSE(codec_->dispatch(input_));
  EXPECT_EQ(recorder_.events.back(), "H GET /2 HTTP/1.0 end");
  EXPECT_FALSE(codec_->keepAlive());
  EXPECT_EQ(encode(*response(200, {{"Content-Length", "2"}}), false),
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");
}

TEST_F(ServerCodecTest, UpgradeRequestThenNextRequestAfterRefusal) {
  EXPECT_FALSE(
      feedAll("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket"
              "\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(recorder_.events.size(), 1u);
  codec_->resume();
  EXPECT_FALSE(codec_->dispatch(input_));
  EXPECT_EQ(recorder_.events.back(), "H GET /2 HTTP/1.1 [Host=a] end");
}

TEST_F(ServerCodecTest, FoldDetectionDoesNotTripOnValuesSplitAtSpaces) {
  // A value split right before a space, or right before its CRLF, is not a fold.
  const std::string raw = "GET / HTTP/1.1\r\nHost: a\r\nX: a b c\r\nY: d\r\n\r\n";
  for (size_t split = 0; split <= raw.size(); ++split) {
    reset();
    input_.add(raw.substr(0, split));
    ASSERT_FALSE(codec_->dispatch(input_)) << split;
    input_.add(raw.substr(split));
    ASSERT_FALSE(codec_->dispatch(input_)) << split;
    ASSERT_EQ(recorder_.events.size(), 1u);
    EXPECT_EQ(recorder_.events[0], "H GET / HTTP/1.1 [Host=a] [X=a b c] [Y=d] end") << split;
  }
}

TEST_F(ServerCodecTest, FoldIsFoundAtEverySplit) {
  const std::string raw = "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n";
  for (size_t split = 0; split <= raw.size(); ++split) {
    reset();
    input_.add(raw.substr(0, split));
    auto error = codec_->dispatch(input_);
    if (!error) {
      input_.add(raw.substr(split));
      error = codec_->dispatch(input_);
    }
    ASSERT_TRUE(error) << split;
    EXPECT_EQ(error->reason, "obsolete_line_folding") << split;
  }
}

// Joins runs of data events, whose number depends on how the bytes were split.
std::vector<std::string> joinData(const std::vector<std::string>& events) {
  std::vector<std::string> joined;
  for (const std::string& event : events) {
    if (event.rfind("D ", 0) == 0 && !joined.empty() && joined.back().rfind("D ", 0) == 0 &&
        !joined.back().ends_with(" end")) {
      joined.back() += event.substr(2);
    } else {
      joined.push_back(event);
    }
  }
  return joined;
}

TEST_F(ServerCodecTest, RandomSplitsGiveTheSameRequests) {
  const std::string raw =
      "GET /1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz"
      "PUT /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nT-1: a\r\nT-2: b\r\n\r\n"
      "\r\nGET /4 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
      "DELETE /5 HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n";
  auto run = [this, &raw](uint32_t seed) {
    reset();
    // Each request is answered as soon as it ends, from inside the callback.
    recorder_.on_headers = [this](bool end_stream) {
      if (end_stream) {
        codec_->resume();
      }
    };
    recorder_.on_data = [this](bool end_stream) {
      if (end_stream) {
        codec_->resume();
      }
    };
    recorder_.on_trailers = [this] { codec_->resume(); };
    uint32_t state = seed;
    for (size_t at = 0; at < raw.size();) {
      state = state * 1103515245u + 12345u;
      size_t step = seed == 0 ? raw.size() : 1 + (state >> 16) % 23;
      input_.add(std::string_view(raw).substr(at, step));
      at += step;
      EXPECT_FALSE(codec_->dispatch(input_)) << seed;
    }
    EXPECT_EQ(input_.length(), 0u);
    return joinData(recorder_.events);
  };
  const std::vector<std::string> whole = run(0);
  EXPECT_THAT(whole,
              ElementsAre("H GET /1 HTTP/1.1 [Host=a] [Accept=*/*] end",
                          "H POST /2 HTTP/1.1 [Host=a] [Content-Length=26]",
                          "D abcdefghijklmnopqrstuvwxyz end",
                          "H PUT /3 HTTP/1.1 [Host=a] [Transfer-Encoding=chunked]", "D hello world",
                          "T [T-1=a] [T-2=b]", "H GET /4 HTTP/1.0 [Connection=keep-alive] end",
                          "H DELETE /5 HTTP/1.1 [Host=a] [X-Empty=] [Content-Length=0] end"));
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    EXPECT_EQ(run(seed), whole) << seed;
  }
}

// ---------------------------------------------------------------------------------------
// Responses.

TEST_F(ServerCodecTest, ResponseWithContentLengthKeepsIt) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(
      encode(*response(200, {{"content-type", "text/plain"}, {"content-length", "5"}}), false),
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\n");
  EXPECT_EQ(encodeData("hel", false), "hel");
  EXPECT_EQ(encodeData("lo", true), "lo");
  EXPECT_TRUE(codec_->keepAlive());
}

TEST_F(ServerCodecTest, ResponseWithoutLengthIsChunkedFor11) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(encode(*response(200, {{"x-a", "1"}}), false),
            "HTTP/1.1 200 OK\r\nx-a: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(encodeData("hello", false), "5\r\nhello\r\n");
  EXPECT_EQ(encodeData(std::string(300, 'z'), false), "12c\r\n" + std::string(300, 'z') + "\r\n");
  EXPECT_EQ(encodeData("", false), "");
  EXPECT_EQ(encodeData("!", true), "1\r\n!\r\n0\r\n\r\n");
  EXPECT_TRUE(codec_->keepAlive());
}

TEST_F(ServerCodecTest, ChunkedResponseEndedByEmptyData) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  encode(*response(200), false);
  EXPECT_EQ(encodeData("", true), "0\r\n\r\n");
}

TEST_F(ServerCodecTest, ResponseTrailersWhenChunked) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  encode(*response(200), false);
  EXPECT_EQ(encodeData("abc", false), "3\r\nabc\r\n");
  HeaderMap trailers;
  trailers.add("grpc-status", "0");
  trailers.add("x-checksum", "42");
  buffer::OwnedBuffer out;
  codec_->encodeTrailers(trailers, out);
  EXPECT_EQ(out.toString(), "0\r\ngrpc-status: 0\r\nx-checksum: 42\r\n\r\n");
}

TEST_F(ServerCodecTest, ResponseTrailersDroppedWithContentLength) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  encode(*response(200, {{"Content-Length", "3"}}), false);
  EXPECT_EQ(encodeData("abc", false), "abc");
  HeaderMap trailers;
  trailers.add("x-checksum", "42");
  buffer::OwnedBuffer out;
  codec_->encodeTrailers(trailers, out);
  EXPECT_EQ(out.length(), 0u);
}

// Found by the request_codec fuzz target: an empty value (a null view) reached memcpy.
TEST_F(ServerCodecTest, EmptyHeaderValueIsWritten) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n"));
  ASSERT_EQ(recorder_.requests.size(), 1u);
  auto reply = response(200, {{"Content-Length", "0"}});
  reply->add("x-empty", *recorder_.requests[0]->get("x-empty"));
  EXPECT_EQ(encode(*reply, true), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nx-empty: \r\n\r\n");
}

TEST_F(ServerCodecTest, ResponseToHttp10IsCloseDelimited) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_TRUE(codec_->keepAlive());
  EXPECT_EQ(encode(*response(200, {{"x-a", "1"}}), false),
            "HTTP/1.1 200 OK\r\nx-a: 1\r\nConnection: close\r\n\r\n");
  EXPECT_FALSE(codec_->keepAlive());
  EXPECT_EQ(encodeData("raw bytes", false), "raw bytes");
  EXPECT_EQ(encodeData("", true), "");
  HeaderMap trailers;
  trailers.add("x-t", "1");
  buffer::OwnedBuffer out;
  codec_->encodeTrailers(trailers, out);
  EXPECT_EQ(out.length(), 0u);
}

TEST_F(ServerCodecTest, ResponseToHttp10WithoutKeepAlive) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(encode(*response(200, {{"Content-Length", "0"}}), true),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST_F(ServerCodecTest, EmptyResponseGetsContentLengthZero) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(encode(*response(200, {{"x-a", "1"}}), true),
            "HTTP/1.1 200 OK\r\nx-a: 1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(codec_->keepAlive());
}

TEST_F(ServerCodecTest, EmptyResponseToHttp10StaysAlive) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_EQ(encode(*response(302, {{"Location", "/x"}}), true),
            "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n"
            "Connection: keep-alive\r\n\r\n");
  EXPECT_TRUE(codec_->keepAlive());
}

TEST_F(ServerCodecTest, HeadResponseHasNoBody) {
  EXPECT_FALSE(feedAll("HEAD /file HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_THAT(recorder_.events, ElementsAre("H HEAD /file HTTP/1.1 [Host=a] end"));
  EXPECT_EQ(encode(*response(200, {{"Content-Length", "1234"}}), false),
            "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
  EXPECT_EQ(encodeData("should not be sent", true), "");
}

TEST_F(ServerCodecTest, HeadResponseWithoutLengthGetsNoFraming) {
  EXPECT_FALSE(feedAll("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(encode(*response(200, {{"x-a", "1"}}), false), "HTTP/1.1 200 OK\r\nx-a: 1\r\n\r\n");
  EXPECT_EQ(encodeData("body", true), "");
  EXPECT_TRUE(codec_->keepAlive());

  reset();
  EXPECT_FALSE(feedAll("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(encode(*response(200), true), "HTTP/1.1 200 OK\r\n\r\n");

  reset();
  EXPECT_FALSE(feedAll("HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_EQ(encode(*response(200), false), "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_TRUE(codec_->keepAlive());
}

TEST_F(ServerCodecTest, NoBodyStatusesWriteNoBodyAndNoFraming) {
  struct Case {
    int status;
    const char* head;
  };
  const Case cases[] = {
      {204, "HTTP/1.1 204 No Content\r\nx-a: 1\r\n\r\n"},
      {304, "HTTP/1.1 304 Not Modified\r\nx-a: 1\r\n\r\n"},
      {101, "HTTP/1.1 101 Switching Protocols\r\nx-a: 1\r\n\r\n"},
  };
  for (const Case& c : cases) {
    for (bool end_stream : {false, true}) {
      reset();
      EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
      EXPECT_EQ(encode(*response(c.status, {{"x-a", "1"}}), end_stream), c.head) << c.status;
      EXPECT_EQ(encodeData("nope", true), "") << c.status;
    }
  }
}

// RFC 9110 §8.6: a 1xx or 204 response carries no Content-Length (nor Transfer-Encoding);
// an upstream's is dropped rather than passed on.
TEST_F(ServerCodecTest, NoContentAndInterimResponsesLoseContentLength) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(
      encode(
          *response(204, {{"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}, {"x-a", "1"}}),
          true),
      "HTTP/1.1 204 No Content\r\nx-a: 1\r\n\r\n");
  EXPECT_EQ(encodeData("nope", true), "");

  reset();
  EXPECT_FALSE(
      feedAll("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
  buffer::OwnedBuffer out;
  codec_->encode1xx(*response(100, {{"content-length", "0"}, {"x-b", "2"}}), out);
  EXPECT_EQ(out.toString(), "HTTP/1.1 100 Continue\r\nx-b: 2\r\n\r\n");
}

TEST_F(ServerCodecTest, NotModifiedKeepsItsContentLength) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(encode(*response(304, {{"ETag", "\"x\""}, {"Content-Length", "99"}}), true),
            "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 99\r\n\r\n");
  EXPECT_EQ(encodeData("nope", true), "");
}

TEST_F(ServerCodecTest, CloseAddsConnectionClose) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(encode(*response(200, {{"Content-Length", "0"}}), true, true),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_FALSE(codec_->keepAlive());
}

TEST_F(ServerCodecTest, RequestedCloseIsAnswered) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(encode(*response(200), false),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
}

TEST_F(ServerCodecTest, GivenConnectionCloseIsNotRepeated) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(encode(*response(200, {{"Connection", "close"}, {"Content-Length", "0"}}), true, true),
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  EXPECT_FALSE(codec_->keepAlive());
}

TEST_F(ServerCodecTest, GivenConnectionCloseEndsKeepAlive) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  encode(*response(200, {{"Connection", "close"}}), true);
  EXPECT_FALSE(codec_->keepAlive());
}

TEST_F(ServerCodecTest, GivenTransferEncodingIsReplacedByTheCodecsFraming) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(encode(*response(200, {{"Transfer-Encoding", "chunked"}, {"x-a", "1"}}), false),
            "HTTP/1.1 200 OK\r\nx-a: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(encodeData("abc", true), "3\r\nabc\r\n0\r\n\r\n");
}

TEST_F(ServerCodecTest, ReasonPhrases) {
  const std::pair<int, const char*> cases[] = {
      {200, "OK"},
      {201, "Created"},
      {301, "Moved Permanently"},
      {400, "Bad Request"},
      {404, "Not Found"},
      {414, "URI Too Long"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
      {505, "HTTP Version Not Supported"},
      {299, "Unknown"},
      {599, "Unknown"},
  };
  for (const auto& [status, phrase] : cases) {
    reset();
    EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    EXPECT_EQ(
        encode(*response(status, {{"Content-Length", "0"}}), true),
        "HTTP/1.1 " + std::to_string(status) + " " + phrase + "\r\nContent-Length: 0\r\n\r\n");
  }
}

TEST_F(ServerCodecTest, InterimResponse) {
  EXPECT_FALSE(
      feedAll("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
              "Content-Length: 3\r\n\r\n"));
  buffer::OwnedBuffer out;
  codec_->encode1xx(*response(100), out);
  EXPECT_EQ(out.toString(), "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_FALSE(feedAll("abc"));
  EXPECT_EQ(recorder_.body, "abc");
  EXPECT_EQ(encode(*response(201), true), "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
}

TEST_F(ServerCodecTest, NoInterimResponseToHttp10) {
  EXPECT_FALSE(feedAll("POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\n"));
  buffer::OwnedBuffer out;
  codec_->encode1xx(*response(100), out);
  EXPECT_EQ(out.length(), 0u);
}

// ---------------------------------------------------------------------------------------
// Upgrade: a 101 to a tunnelable request turns the connection into a byte tunnel.

constexpr std::string_view kUpgradeRequest =
    "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
    "Upgrade: websocket\r\n\r\n";

TEST_F(ServerCodecTest, UpgradeSwitchesToRawBytesBothWays) {
  // Bytes behind the head wait in the input until the answer is known.
  std::string raw = std::string(kUpgradeRequest) + "\x81\x02hi";
  EXPECT_FALSE(feedAll(raw));
  ASSERT_EQ(recorder_.events.size(), 1u);
  EXPECT_THAT(recorder_.events[0], testing::EndsWith("[Upgrade=websocket] end"));
  EXPECT_EQ(input_.toString(), "\x81\x02hi");
  EXPECT_FALSE(codec_->upgraded());

  // A 101 goes out as given: no framing, no Connection: close even when asked to close.
  auto switching = response(101, {{"Connection", "upgrade"}, {"Upgrade", "websocket"}});
  EXPECT_EQ(
      encode(*switching, false, true),
      "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
  EXPECT_TRUE(codec_->upgraded());
  EXPECT_FALSE(codec_->keepAlive());

  // The held bytes and later ones are handed over as they are, never parsed.
  EXPECT_FALSE(codec_->dispatch(input_));
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(recorder_.body, "\x81\x02hiGET / HTTP/1.1\r\n\r\n");
  EXPECT_FALSE(recorder_.last_data_end);
  EXPECT_EQ(input_.length(), 0u);
  // And the answer's bytes go out unframed.
  EXPECT_EQ(encodeData("\x81\x02yo", false), "\x81\x02yo");
  EXPECT_EQ(encodeData("", true), "");
}

TEST_F(ServerCodecTest, UpgradeAnsweredWithoutSwitchingStaysHttp) {
  EXPECT_FALSE(feedAll(kUpgradeRequest));
  EXPECT_EQ(encode(*response(200, {{"Content-Length", "2"}}), false),
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(encodeData("ok", true), "ok");
  EXPECT_FALSE(codec_->upgraded());
  EXPECT_TRUE(codec_->keepAlive());
  codec_->resume();
  EXPECT_FALSE(feedAll("GET /next HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_EQ(recorder_.events.size(), 2u);
  EXPECT_EQ(recorder_.events[1], "H GET /next HTTP/1.1 [Host=a] end");
}

TEST_F(ServerCodecTest, SwitchingIsOnlyForTunnelableRequests) {
  // With a body, as HTTP/1.0, or for h2c, an Upgrade request is a plain request: a 101 for
  // it (which the router never sends) switches nothing.
  const std::string cases[] = {
      "POST / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n"
      "Content-Length: 2\r\n\r\nhi",
      "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
      "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
  };
  for (const std::string& raw : cases) {
    SCOPED_TRACE(raw);
    reset();
    EXPECT_FALSE(feedAll(raw));
    encode(*response(101, {{"Upgrade", "websocket"}}), false);
    EXPECT_FALSE(codec_->upgraded());
  }
}

TEST_F(ServerCodecTest, ResponseTrailersLoseFieldsATrailerMustNotCarry) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  encode(*response(200), false);
  EXPECT_EQ(encodeData("abc", false), "3\r\nabc\r\n");
  HeaderMap trailers;
  trailers.add("X-Checksum", "42");
  trailers.add("Content-Length", "3");
  trailers.add("Transfer-Encoding", "chunked");
  trailers.add("Host", "evil");
  trailers.add("Connection", "close");
  trailers.add("Server-Timing", "db;dur=53");
  buffer::OwnedBuffer out;
  codec_->encodeTrailers(trailers, out);
  EXPECT_EQ(out.toString(), "0\r\nX-Checksum: 42\r\nServer-Timing: db;dur=53\r\n\r\n");
}

TEST_F(ServerCodecTest, ResponseTrailersAreDroppedWithoutChunking) {
  EXPECT_FALSE(feedAll("GET / HTTP/1.0\r\n\r\n"));
  encode(*response(200), false);
  EXPECT_EQ(encodeData("abc", false), "abc");
  HeaderMap trailers;
  trailers.add("X-Checksum", "42");
  buffer::OwnedBuffer out;
  codec_->encodeTrailers(trailers, out);
  EXPECT_EQ(out.length(), 0u);
}

TEST_F(ServerCodecTest, ErrorReplyAfterRejection) {
  auto error = feedAll("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  ASSERT_TRUE(error);
  auto reply = response(error->status, {{"Content-Length", "14"}});
  EXPECT_EQ(encode(*reply, false, true),
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 14\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(encodeData("multiple_host\n", true), "multiple_host\n");
}

TEST_F(ServerCodecTest, ResponseHeadGoesToANonOwnedBufferToo) {
  // A buffer of another implementation (a plugin's) gets the same bytes.
  class StringBuffer : public buffer::Instance {
   public:
    void add(const void* data, size_t size) override {
      bytes.append(static_cast<const char*>(data), size);
    }
    using buffer::Instance::add;
    void move(buffer::Instance& other) override { move(other, other.length()); }
    void move(buffer::Instance& other, size_t length) override {
      std::string moved = other.toString().substr(0, length);
      bytes += moved;
      other.drain(moved.size());
    }
    void drain(size_t size) override { bytes.erase(0, size); }
    void copyOut(size_t start, size_t size, void* out) const override {
      bytes.copy(static_cast<char*>(out), size, start);
    }
    size_t length() const override { return bytes.size(); }
    size_t getRawSlices(buffer::RawSlice* out, size_t max) const override {
      if (bytes.empty()) {
        return 0;
      }
      if (max > 0) {
        out[0] = buffer::RawSlice{const_cast<char*>(bytes.data()), bytes.size()};
      }
      return 1;
    }
    void* linearize(size_t) override { return bytes.data(); }
    std::string toString() const override { return bytes; }
    std::string bytes;
  };
  EXPECT_FALSE(feedAll("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  StringBuffer out;
  codec_->encodeHeaders(*response(200, {{"x-a", "1"}}), true, false, out);
  EXPECT_EQ(out.bytes, "HTTP/1.1 200 OK\r\nx-a: 1\r\nContent-Length: 0\r\n\r\n");

  // And requests parse from it as well.
  codec_->resume();
  StringBuffer in;
  in.add(std::string_view("GET /s HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_FALSE(codec_->dispatch(in));
  EXPECT_EQ(recorder_.events.back(), "H GET /s HTTP/1.1 [Host=a] end");
  EXPECT_EQ(in.length(), 0u);
}

TEST_F(ServerCodecTest, RequestAcrossManySlices) {
  // Slices of the input buffer are fed in place: build one with many small slices.
  buffer::OwnedBuffer input;
  const std::string raw = "POST /m HTTP/1.1\r\nHost: a\r\nX-Long: " + std::string(40000, 'q') +
                          "\r\nContent-Length: 5\r\n\r\nhello";
  for (size_t at = 0; at < raw.size(); at += 7000) {
    buffer::OwnedBuffer piece;
    piece.add(raw.substr(at, 7000));
    input.move(piece);
  }
  buffer::RawSlice slices[16];
  EXPECT_GT(input.getRawSlices(slices, 16), 1u);
  EXPECT_FALSE(codec_->dispatch(input));
  ASSERT_EQ(recorder_.requests.size(), 1u);
  EXPECT_EQ(recorder_.requests[0]->get("x-long")->size(), 40000u);
  EXPECT_EQ(recorder_.body, "hello");
}

}  // namespace
}  // namespace proxy::http
