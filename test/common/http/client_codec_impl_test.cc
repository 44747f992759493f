#include "common/http/client_codec_impl.h"

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
class RecordingClientCallbacks : public ClientCodecCallbacks {
 public:
  void onResponseHeaders(ResponseHeaderMapPtr headers, bool end_stream) override {
    std::string event = "H " + std::to_string(headers->status()) +
                        (headers->version() == 10 ? " HTTP/1.0" : " HTTP/1.1");
    for (const HeaderMap::Entry& entry : headers->entries()) {
      event += " [" + std::string(entry.name) + "=" + std::string(entry.value) + "]";
    }
    event += end_stream ? " end" : "";
    events.push_back(event);
    responses.push_back(std::move(headers));
    if (on_headers) {
      on_headers(end_stream);
    }
  }
  void onResponseData(buffer::Instance& data, bool end_stream) override {
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
  void onResponseTrailers(HeaderMapPtr trailers) override {
    std::string event = "T";
    for (const HeaderMap::Entry& entry : trailers->entries()) {
      event += " [" + std::string(entry.name) + "=" + std::string(entry.value) + "]";
    }
    events.push_back(event);
  }

  std::vector<std::string> events;
  std::vector<ResponseHeaderMapPtr> responses;
  std::string body;
  int data_calls = 0;
  bool last_data_end = false;
  std::function<void(bool)> on_headers;
  std::function<void(bool)> on_data;
};

class MockClientCodecCallbacks : public ClientCodecCallbacks {
 public:
  MOCK_METHOD(void, onResponseHeaders, (ResponseHeaderMapPtr headers, bool end_stream), (override));
  MOCK_METHOD(void, onResponseData, (buffer::Instance & data, bool end_stream), (override));
  MOCK_METHOD(void, onResponseTrailers, (HeaderMapPtr trailers), (override));
};

class ClientCodecTest : public testing::Test {
 protected:
  void reset(const CodecLimits& limits = CodecLimits{}) {
    recorder_ = RecordingClientCallbacks{};
    codec_ = createClientCodec(recorder_, limits);
    input_.drain(input_.length());
  }
  void SetUp() override { reset(); }

  RequestHeaderMapPtr request(std::string_view method, std::string_view path,
                              std::vector<std::pair<std::string, std::string>> headers = {
                                  {"Host", "upstream"}}) {
    auto map = std::make_unique<RequestHeaderMap>();
    map->setMethod(method);
    map->setPath(path);
    for (auto& [name, value] : headers) {
      map->add(name, value);
    }
    return map;
  }

  std::string encode(const RequestHeaderMap& headers, bool end_stream) {
    buffer::OwnedBuffer out;
    codec_->encodeHeaders(headers, end_stream, out);
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
  // Sends a GET (or `method`) so a response is expected.
  void sendRequest(std::string_view method = "GET") { encode(*request(method, "/"), true); }

  // Feeds `raw` in pieces of `step` bytes (0: all at once), stopping at the first error.
  std::optional<CodecError> feed(std::string_view raw, size_t step = 0) {
    if (step == 0) {
      step = raw.size();
    }
    for (size_t at = 0; at < raw.size(); at += step) {
      input_.add(raw.substr(at, step));
      if (auto error = codec_->dispatch(input_)) {
        return error;
      }
    }
    return std::nullopt;
  }

  RecordingClientCallbacks recorder_;
  ClientCodecPtr codec_;
  buffer::OwnedBuffer input_;
};

// ---------------------------------------------------------------------------------------
// Requests.

TEST_F(ClientCodecTest, RequestWithoutBody) {
  EXPECT_EQ(encode(*request("GET", "/a?b=c", {{"Host", "up:8080"}, {"Accept", "*/*"}}), true),
            "GET /a?b=c HTTP/1.1\r\nHost: up:8080\r\nAccept: */*\r\n\r\n");
}

TEST_F(ClientCodecTest, RequestWithContentLength) {
  EXPECT_EQ(encode(*request("POST", "/p", {{"Host", "up"}, {"Content-Length", "5"}}), false),
            "POST /p HTTP/1.1\r\nHost: up\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(encodeData("he", false), "he");
  EXPECT_EQ(encodeData("llo", true), "llo");
  HeaderMap trailers;
  trailers.add("x-t", "1");
  buffer::OwnedBuffer out;
  codec_->encodeTrailers(trailers, out);
  EXPECT_EQ(out.length(), 0u);
}

TEST_F(ClientCodecTest, RequestBodyWithoutLengthIsChunked) {
  EXPECT_EQ(encode(*request("POST", "/p"), false),
            "POST /p HTTP/1.1\r\nHost: upstream\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(encodeData("abc", false), "3\r\nabc\r\n");
  EXPECT_EQ(encodeData(std::string(26, 'z'), false), "1a\r\n" + std::string(26, 'z') + "\r\n");
  EXPECT_EQ(encodeData("", true), "0\r\n\r\n");
}

TEST_F(ClientCodecTest, ChunkedRequestWithTrailers) {
  encode(*request("PUT", "/p"), false);
  EXPECT_EQ(encodeData("abc", false), "3\r\nabc\r\n");
  HeaderMap trailers;
  trailers.add("x-checksum", "1");
  buffer::OwnedBuffer out;
  codec_->encodeTrailers(trailers, out);
  EXPECT_EQ(out.toString(), "0\r\nx-checksum: 1\r\n\r\n");
}

TEST_F(ClientCodecTest, EmptyPostGetsContentLengthZero) {
  EXPECT_EQ(encode(*request("POST", "/p"), true),
            "POST /p HTTP/1.1\r\nHost: upstream\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(encode(*request("PUT", "/p"), true),
            "PUT /p HTTP/1.1\r\nHost: upstream\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(encode(*request("DELETE", "/p"), true), "DELETE /p HTTP/1.1\r\nHost: upstream\r\n\r\n");
}

TEST_F(ClientCodecTest, EmptyPathIsSlash) {
  EXPECT_EQ(encode(*request("GET", ""), true), "GET / HTTP/1.1\r\nHost: upstream\r\n\r\n");
}

TEST_F(ClientCodecTest, GivenTransferEncodingIsReplaced) {
  EXPECT_EQ(encode(*request("POST", "/", {{"Host", "u"}, {"Transfer-Encoding", "chunked"}}), false),
            "POST / HTTP/1.1\r\nHost: u\r\nTransfer-Encoding: chunked\r\n\r\n");
}

// ---------------------------------------------------------------------------------------
// Responses that are fine.

TEST_F(ClientCodecTest, ResponseWithContentLength) {
  sendRequest();
  EXPECT_FALSE(
      feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"
           "hello"));
  EXPECT_THAT(
      recorder_.events,
      ElementsAre("H 200 HTTP/1.1 [Content-Type=text/plain] [Content-Length=5]", "D hello end"));
  EXPECT_TRUE(codec_->keepAlive());
  EXPECT_EQ(input_.length(), 0u);
  EXPECT_FALSE(codec_->onConnectionClose());
}

// Keeps the first slice address of each body delivery.
class SliceAddressCallbacks : public ClientCodecCallbacks {
 public:
  void onResponseHeaders(ResponseHeaderMapPtr, bool) override {}
  void onResponseData(buffer::Instance& data, bool end_stream) override {
    buffer::RawSlice slice;
    if (data.getRawSlices(&slice, 1) == 1) {
      addresses.push_back(slice.mem);
    }
    body += data.toString();
    ended = end_stream;
    data.drain(data.length());
  }
  void onResponseTrailers(HeaderMapPtr) override {}
  std::vector<const void*> addresses;
  std::string body;
  bool ended = false;
};

TEST_F(ClientCodecTest, BodySlicesMoveToTheStreamUncopied) {
  SliceAddressCallbacks callbacks;
  ClientCodecPtr codec = createClientCodec(callbacks, CodecLimits{});
  buffer::OwnedBuffer out;
  codec->encodeHeaders(*request("GET", "/"), true, out);
  buffer::OwnedBuffer input;
  input.add("HTTP/1.1 200 OK\r\nContent-Length: 49152\r\n\r\n");
  ASSERT_FALSE(codec->dispatch(input));
  std::vector<const void*> read_slices;
  std::string sent;
  for (char fill : {'a', 'b', 'c'}) {
    // One read's worth: a fresh slice wholly made of body, as a bulk read leaves it.
    const std::string chunk(buffer::OwnedBuffer::kSliceSize, fill);
    input.add(chunk);
    buffer::RawSlice slice;
    ASSERT_EQ(1u, input.getRawSlices(&slice, 1));
    read_slices.push_back(slice.mem);
    sent += chunk;
    ASSERT_FALSE(codec->dispatch(input));
    EXPECT_EQ(0u, input.length());
  }
  EXPECT_EQ(sent, callbacks.body);
  EXPECT_TRUE(callbacks.ended);
  EXPECT_EQ(read_slices, callbacks.addresses) << "the read slices themselves, not copies";
}

TEST_F(ClientCodecTest, BodyAfterTheHeadInOneSliceIsCopiedExactly) {
  sendRequest();
  const std::string body(20000, 'z');
  EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n" + body));
  EXPECT_EQ(body, recorder_.body);
  EXPECT_TRUE(recorder_.last_data_end);
}

TEST_F(ClientCodecTest, ResponseOneBytePerDispatch) {
  sendRequest();
  const std::string raw =
      "HTTP/1.1 200 OK\r\nX-Long: " + std::string(3000, 'L') + "\r\nContent-Length: 5\r\n\r\nhello";
  EXPECT_FALSE(feed(raw, 1));
  ASSERT_EQ(recorder_.responses.size(), 1u);
  EXPECT_EQ(recorder_.responses[0]->get("x-long"), std::string(3000, 'L'));
  EXPECT_EQ(recorder_.body, "hello");
  EXPECT_EQ(recorder_.data_calls, 5);
  EXPECT_TRUE(recorder_.last_data_end);
}

TEST_F(ClientCodecTest, ResponseWithZeroContentLengthEndsAtHeaders) {
  sendRequest();
  EXPECT_FALSE(feed("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_THAT(recorder_.events, ElementsAre("H 201 HTTP/1.1 [Content-Length=0] end"));
  EXPECT_TRUE(codec_->keepAlive());
}

TEST_F(ClientCodecTest, ChunkedResponseWithTrailers) {
  sendRequest();
  EXPECT_FALSE(
      feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Checksum: 9\r\n\r\n"));
  EXPECT_THAT(recorder_.events, ElementsAre("H 200 HTTP/1.1 [Transfer-Encoding=chunked]",
                                            "D abcdefg", "T [X-Checksum=9]"));
  EXPECT_TRUE(codec_->keepAlive());
}

TEST_F(ClientCodecTest, ChunkedResponseInPieces) {
  sendRequest();
  EXPECT_FALSE(
      feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
           1));
  EXPECT_EQ(recorder_.body, "abcdefg");
  EXPECT_TRUE(recorder_.last_data_end);
}

TEST_F(ClientCodecTest, CloseDelimitedResponse) {
  sendRequest();
  EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nfirst "));
  EXPECT_FALSE(feed("second"));
  EXPECT_THAT(recorder_.events, ElementsAre("H 200 HTTP/1.1 [X-A=1]", "D first ", "D second"));
  EXPECT_FALSE(codec_->onConnectionClose());
  EXPECT_EQ(recorder_.events.back(), "D  end");
  EXPECT_FALSE(codec_->keepAlive());
}

TEST_F(ClientCodecTest, CloseDelimitedHttp10Response) {
  sendRequest();
  EXPECT_FALSE(feed("HTTP/1.0 200 OK\r\n\r\nbody"));
  EXPECT_FALSE(codec_->onConnectionClose());
  EXPECT_THAT(recorder_.events, ElementsAre("H 200 HTTP/1.0", "D body", "D  end"));
  EXPECT_FALSE(codec_->keepAlive());
}

TEST_F(ClientCodecTest, HeadResponseHasNoBody) {
  sendRequest("HEAD");
  EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"));
  EXPECT_THAT(recorder_.events, ElementsAre("H 200 HTTP/1.1 [Content-Length=1234] end"));
  EXPECT_TRUE(codec_->keepAlive());
  // The connection is reusable at once.
  codec_->reset();
  sendRequest();
  EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  EXPECT_EQ(recorder_.events.back(), "D ok end");
}

TEST_F(ClientCodecTest, HeadResponseWithChunkedHasNoBody) {
  sendRequest("HEAD");
  EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"));
  EXPECT_THAT(recorder_.events, ElementsAre("H 200 HTTP/1.1 [Transfer-Encoding=chunked] end"));
  EXPECT_TRUE(codec_->keepAlive());
}

TEST_F(ClientCodecTest, NoContentHasNoBodyEvenWithContentLength) {
  sendRequest();
  EXPECT_FALSE(feed("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"));
  EXPECT_THAT(recorder_.events, ElementsAre("H 204 HTTP/1.1 [Content-Length=5] end"));
  EXPECT_TRUE(codec_->keepAlive());
}

TEST_F(ClientCodecTest, NotModifiedHasNoBody) {
  sendRequest();
  EXPECT_FALSE(feed("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 99\r\n\r\n"));
  EXPECT_THAT(recorder_.events, ElementsAre("H 304 HTTP/1.1 [ETag=\"x\"] [Content-Length=99] end"));
  EXPECT_TRUE(codec_->keepAlive());

  codec_->reset();
  sendRequest();
  EXPECT_FALSE(feed("HTTP/1.1 304 Not Modified\r\n\r\n"));
  EXPECT_EQ(recorder_.events.back(), "H 304 HTTP/1.1 end");
  EXPECT_TRUE(codec_->keepAlive());
}

TEST_F(ClientCodecTest, ContinueThenFinalResponse) {
  encode(
      *request("POST", "/", {{"Host", "u"}, {"Expect", "100-continue"}, {"Content-Length", "1"}}),
      false);
  EXPECT_FALSE(feed("HTTP/1.1 100 Continue\r\n\r\n"));
  EXPECT_THAT(recorder_.events, ElementsAre("H 100 HTTP/1.1"));
  EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  EXPECT_THAT(recorder_.events,
              ElementsAre("H 100 HTTP/1.1", "H 200 HTTP/1.1 [Content-Length=2]", "D ok end"));
}

TEST_F(ClientCodecTest, InterimResponsesAndFinalInOneRead) {
  sendRequest();
  EXPECT_FALSE(
      feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  EXPECT_THAT(recorder_.events, ElementsAre("H 100 HTTP/1.1", "H 103 HTTP/1.1 [Link=</s>]",
                                            "H 200 HTTP/1.1 [Content-Length=2]", "D ok end"));
  EXPECT_EQ(input_.length(), 0u);
}

TEST_F(ClientCodecTest, InterimResponsesOneBytePerDispatch) {
  sendRequest();
  EXPECT_FALSE(
      feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1));
  EXPECT_EQ(recorder_.events.front(), "H 100 HTTP/1.1");
  EXPECT_EQ(recorder_.events[1], "H 200 HTTP/1.1 [Content-Length=2]");
  EXPECT_EQ(recorder_.body, "ok");
}

TEST_F(ClientCodecTest, InterimWithMockCallbacks) {
  StrictMock<MockClientCodecCallbacks> callbacks;
  ClientCodecPtr codec = createClientCodec(callbacks, CodecLimits{});
  buffer::OwnedBuffer out;
  codec->encodeHeaders(*request("GET", "/"), true, out);
  buffer::OwnedBuffer input;
  input.add("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  InSequence sequence;
  EXPECT_CALL(callbacks, onResponseHeaders(_, false))
      .WillOnce(
          Invoke([](ResponseHeaderMapPtr headers, bool) { EXPECT_EQ(headers->status(), 100); }));
  EXPECT_CALL(callbacks, onResponseHeaders(_, false))
      .WillOnce(
          Invoke([](ResponseHeaderMapPtr headers, bool) { EXPECT_EQ(headers->status(), 200); }));
  EXPECT_CALL(callbacks, onResponseData(_, true)).WillOnce(Invoke([](buffer::Instance& data, bool) {
    EXPECT_EQ(data.toString(), "ok");
  }));
  EXPECT_FALSE(codec->dispatch(input));
}

TEST_F(ClientCodecTest, SwitchingProtocolsToAPlainRequestIsRefused) {
  sendRequest();
  auto error =
      feed("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: ws\r\n\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->reason, "unexpected_upgrade");
  EXPECT_EQ(error->status, 502);
  EXPECT_TRUE(recorder_.events.empty());
  EXPECT_FALSE(codec_->upgraded());
  EXPECT_FALSE(codec_->keepAlive());
}

TEST_F(ClientCodecTest, KeepAliveRules) {
  struct Case {
    const char* raw;
    bool keep_alive;
  };
  const Case cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.1 200 OK\r\nConnection: x, Close\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true},
      {"HTTP/1.1 204 No Content\r\n\r\n", true},
  };
  for (const Case& c : cases) {
    reset();
    sendRequest();
    EXPECT_FALSE(feed(c.raw)) << c.raw;
    EXPECT_EQ(codec_->keepAlive(), c.keep_alive) << c.raw;
  }
}

TEST_F(ClientCodecTest, ManyExchangesOnOneConnection) {
  for (int i = 0; i < 5; ++i) {
    sendRequest();
    std::string body = "response " + std::to_string(i);
    EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\n\r\n" + body));
    EXPECT_EQ(recorder_.events.back(), "D " + body + " end");
    EXPECT_TRUE(codec_->keepAlive());
    codec_->reset();
  }
  EXPECT_EQ(recorder_.responses.size(), 5u);
}

TEST_F(ClientCodecTest, NextRequestWithoutResetStartsAFreshResponse) {
  sendRequest();
  EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"));
  sendRequest("HEAD");
  EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"));
  EXPECT_THAT(recorder_.events, ElementsAre("H 200 HTTP/1.1 [Content-Length=1]", "D a end",
                                            "H 200 HTTP/1.1 [Content-Length=1] end"));
}

TEST_F(ClientCodecTest, NextRequestFromInsideTheLastCallback) {
  // The pool takes the connection back and the next request goes out at once.
  recorder_.on_data = [this](bool end_stream) {
    if (end_stream && recorder_.responses.size() == 1) {
      codec_->reset();
      sendRequest();
    }
  };
  sendRequest();
  EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"));
  EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"));
  EXPECT_EQ(recorder_.body, "ab");
  EXPECT_EQ(recorder_.responses.size(), 2u);
}

TEST_F(ClientCodecTest, RandomSplitsGiveTheSameResponses) {
  // Three exchanges on one connection. An upstream cannot answer a request not yet sent,
  // so each response is split on its own.
  const std::string responses[] = {
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Empty:\r\n\r\n"
      "3\r\nabc\r\n10;e=1\r\n0123456789abcdef\r\n0\r\nT: t\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
      "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
  };
  auto run = [this, &responses](uint32_t seed) {
    reset();
    uint32_t state = seed;
    for (const std::string& raw : responses) {
      codec_->reset();
      sendRequest();
      for (size_t at = 0; at < raw.size();) {
        state = state * 1103515245u + 12345u;
        size_t step = seed == 0 ? raw.size() : 1 + (state >> 16) % 23;
        input_.add(std::string_view(raw).substr(at, step));
        at += step;
        EXPECT_FALSE(codec_->dispatch(input_)) << seed;
      }
      EXPECT_TRUE(codec_->keepAlive());
    }
    std::vector<std::string> joined;
    for (const std::string& event : recorder_.events) {
      if (event.rfind("D ", 0) == 0 && !joined.empty() && joined.back().rfind("D ", 0) == 0 &&
          !joined.back().ends_with(" end")) {
        joined.back() += event.substr(2);
      } else {
        joined.push_back(event);
      }
    }
    return joined;
  };
  const std::vector<std::string> whole = run(0);
  EXPECT_THAT(
      whole,
      ElementsAre("H 100 HTTP/1.1", "H 200 HTTP/1.1 [Transfer-Encoding=chunked] [X-Empty=]",
                  "D abc0123456789abcdef", "T [T=t]", "H 304 HTTP/1.1 [Content-Length=10] end",
                  "H 404 HTTP/1.1 [Content-Length=9]", "D not found end"));
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    EXPECT_EQ(run(seed), whole) << seed;
  }
}

// ---------------------------------------------------------------------------------------
// Cut off, unexpected.

TEST_F(ClientCodecTest, TruncatedResponses) {
  const char* cases[] = {
      "",
      "HTTP/1.1 200",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n",
      "HTTP/1.1 100 Continue\r\n\r\n",
  };
  for (const char* raw : cases) {
    reset();
    sendRequest();
    EXPECT_FALSE(feed(raw)) << raw;
    auto error = codec_->onConnectionClose();
    ASSERT_TRUE(error) << raw;
    EXPECT_EQ(error->status, 502);
    EXPECT_EQ(error->reason, "truncated");
    EXPECT_FALSE(recorder_.last_data_end) << raw;
    EXPECT_FALSE(codec_->keepAlive());
  }
}

TEST_F(ClientCodecTest, CloseWhileIdleIsNotAnError) {
  EXPECT_FALSE(codec_->onConnectionClose());
  sendRequest();
  EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(codec_->onConnectionClose());
  codec_->reset();
  EXPECT_FALSE(codec_->onConnectionClose());
}

TEST_F(ClientCodecTest, BytesAfterCompleteResponseInTheSameRead) {
  sendRequest();
  auto error = feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 502);
  EXPECT_EQ(error->reason, "unexpected_data");
  // The response itself was valid and was delivered whole.
  EXPECT_THAT(recorder_.events, ElementsAre("H 200 HTTP/1.1 [Content-Length=2]", "D ok end"));
  EXPECT_FALSE(codec_->keepAlive());
}

TEST_F(ClientCodecTest, BytesAfterCompleteResponseLater) {
  sendRequest();
  EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  auto error = feed("\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->reason, "unexpected_data");
  EXPECT_FALSE(codec_->keepAlive());
}

TEST_F(ClientCodecTest, BytesAfterResetWithoutRequest) {
  sendRequest();
  EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  codec_->reset();
  auto error = feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->reason, "unexpected_data");
  EXPECT_EQ(recorder_.responses.size(), 1u);
}

TEST_F(ClientCodecTest, BytesBeforeAnyRequest) {
  auto error = feed("HTTP/1.1 200 OK\r\n\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 502);
  EXPECT_EQ(error->reason, "unexpected_data");
  EXPECT_TRUE(recorder_.events.empty());
}

RequestHeaderMapPtr upgradeRequest() {
  auto map = std::make_unique<RequestHeaderMap>();
  map->setMethod("GET");
  map->setPath("/chat");
  map->add("Host", "upstream");
  map->add("connection", "upgrade");
  map->add("upgrade", "websocket");
  return map;
}

TEST_F(ClientCodecTest, SwitchingProtocolsTurnsTheConnectionIntoATunnel) {
  EXPECT_EQ(encode(*upgradeRequest(), true),
            "GET /chat HTTP/1.1\r\nHost: upstream\r\nconnection: upgrade\r\n"
            "upgrade: websocket\r\n\r\n");
  // The bytes behind the 101's head, in the same read, are the tunnel's first.
  EXPECT_FALSE(
      feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"
           "\x81\x05hello"));
  EXPECT_TRUE(codec_->upgraded());
  EXPECT_FALSE(codec_->keepAlive());
  // Later bytes, even ones that look like HTTP, are passed as they are.
  EXPECT_FALSE(feed("HTTP/1.1 200 OK\r\n\r\n"));
  EXPECT_EQ(input_.length(), 0u);
  // The upstream's FIN or close ends its side once.
  EXPECT_FALSE(codec_->onConnectionClose());
  EXPECT_FALSE(codec_->onConnectionClose());
  EXPECT_THAT(recorder_.events,
              ElementsAre("H 101 HTTP/1.1 [Upgrade=websocket] [Connection=upgrade]",
                          "D \x81\x05hello", "D HTTP/1.1 200 OK\r\n\r\n", "D  end"));
  // Toward the upstream, bytes go out unframed.
  EXPECT_EQ(encodeData("\x81\x02hi", false), "\x81\x02hi");
  EXPECT_EQ(encodeData("", true), "");
}

TEST_F(ClientCodecTest, SwitchingProtocolsOneBytePerDispatch) {
  encode(*upgradeRequest(), true);
  EXPECT_FALSE(feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nabc", 1));
  EXPECT_THAT(recorder_.events,
              ElementsAre("H 101 HTTP/1.1 [Upgrade=websocket]", "D a", "D b", "D c"));
}

TEST_F(ClientCodecTest, UpgradeRequestAnsweredNormallyStaysHttp) {
  encode(*upgradeRequest(), true);
  EXPECT_FALSE(feed("HTTP/1.1 426 Upgrade Required\r\nContent-Length: 2\r\n\r\nno"));
  EXPECT_FALSE(codec_->upgraded());
  EXPECT_TRUE(codec_->keepAlive());
  EXPECT_THAT(recorder_.events, ElementsAre("H 426 HTTP/1.1 [Content-Length=2]", "D no end"));
  codec_->reset();
  sendRequest();
  EXPECT_FALSE(feed("HTTP/1.1 204 No Content\r\n\r\n"));
  EXPECT_EQ(recorder_.events.back(), "H 204 HTTP/1.1 end");
}

TEST_F(ClientCodecTest, InterimBeforeSwitchingProtocols) {
  encode(*upgradeRequest(), true);
  EXPECT_FALSE(
      feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: "
           "websocket\r\n\r\nx"));
  EXPECT_THAT(recorder_.events,
              ElementsAre("H 100 HTTP/1.1", "H 101 HTTP/1.1 [Upgrade=websocket]", "D x"));
}

TEST_F(ClientCodecTest, H2cUpgradeIsNotTunnelled) {
  encode(*request("GET", "/", {{"Host", "up"}, {"Connection", "upgrade"}, {"Upgrade", "h2c"}}),
         true);
  auto error = feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->reason, "unexpected_upgrade");
}

TEST_F(ClientCodecTest, RequestTrailersLoseFieldsATrailerMustNotCarry) {
  encode(*request("PUT", "/p"), false);
  EXPECT_EQ(encodeData("abc", false), "3\r\nabc\r\n");
  HeaderMap trailers;
  trailers.add("content-length", "3");
  trailers.add("x-checksum", "1");
  trailers.add("HOST", "other");
  buffer::OwnedBuffer out;
  codec_->encodeTrailers(trailers, out);
  EXPECT_EQ(out.toString(), "0\r\nx-checksum: 1\r\n\r\n");
}

TEST_F(ClientCodecTest, RequestTrailersAreDroppedWithContentLength) {
  encode(*request("PUT", "/p", {{"Host", "up"}, {"Content-Length", "3"}}), false);
  EXPECT_EQ(encodeData("abc", true), "abc");
  HeaderMap trailers;
  trailers.add("x-checksum", "1");
  buffer::OwnedBuffer out;
  codec_->encodeTrailers(trailers, out);
  EXPECT_EQ(out.length(), 0u);
}

// ---------------------------------------------------------------------------------------
// Invalid responses: raw bytes -> reason (always 502), fed whole and one byte at a time.

struct InvalidCase {
  std::string name;
  std::string raw;
  std::string reason;
  bool head_error = true;
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

std::vector<InvalidCase> invalidCases() {
  const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  return {
      // Status line.
      {"StatusTwoDigits", "HTTP/1.1 20 OK\r\n\r\n", "malformed"},
      {"StatusFourDigits", "HTTP/1.1 2000 OK\r\n\r\n", "malformed"},
      {"StatusBelow100", "HTTP/1.1 099 OK\r\n\r\n", "malformed"},
      {"StatusAbove599", "HTTP/1.1 600 OK\r\n\r\n", "malformed"},
      {"StatusNotANumber", "HTTP/1.1 abc OK\r\n\r\n", "malformed"},
      {"StatusMissing", "HTTP/1.1\r\n\r\n", "malformed"},
      {"Version2", "HTTP/2 200 OK\r\n\r\n", "malformed"},
      {"Version20", "HTTP/2.0 200 OK\r\n\r\n", "unsupported_version"},
      {"Version09", "HTTP/0.9 200 OK\r\n\r\n", "unsupported_version"},
      {"Version12", "HTTP/1.2 200 OK\r\n\r\n", "unsupported_version"},
      {"LowercaseProtocol", "http/1.1 200 OK\r\n\r\n", "malformed"},
      {"IcyProtocol", "ICY 200 OK\r\n\r\n", "malformed"},
      {"Garbage", "garbage\r\n\r\n", "malformed"},
      {"HtmlInsteadOfHttp", "<html><body>hi</body></html>", "malformed"},
      // Header lines.
      {"HeaderWithoutColon", "HTTP/1.1 200 OK\r\nFoo\r\n\r\n", "malformed"},
      {"SpaceBeforeColon", "HTTP/1.1 200 OK\r\nFoo : bar\r\n\r\n", "malformed"},
      {"EmptyHeaderName", "HTTP/1.1 200 OK\r\n: bar\r\n\r\n", "malformed"},
      {"NulInHeader", std::string("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", 27), "malformed"},
      {"BareCr", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "malformed"},
      {"LfOnly", "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", "malformed"},
      {"ObsFold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
       "obsolete_line_folding"},
      // Framing.
      {"ContentLengthNotANumber", "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
       "bad_content_length"},
      {"ContentLengthNegative", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
       "bad_content_length"},
      {"ContentLengthEmpty", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "bad_content_length"},
      {"ContentLengthDuplicate",
       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", "bad_content_length"},
      {"ContentLengthConflicting",
       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", "bad_content_length"},
      {"ContentLengthWithChunked",
       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       "bad_transfer_encoding"},
      {"ChunkedWithContentLength",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n0\r\n\r\n",
       "bad_transfer_encoding"},
      {"TransferEncodingGzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc",
       "bad_transfer_encoding"},
      {"TransferEncodingGzipChunked",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
       "bad_transfer_encoding"},
      {"ChunkedOnHttp10", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       "bad_transfer_encoding"},
      {"BadChunkSize", chunked + "zz\r\n", "bad_chunk", false},
      {"ChunkWithoutCrlf", chunked + "3\r\nabcd\r\n", "bad_chunk", false},
      {"ChunkSizeOverflow", chunked + "fffffffffffffffffff\r\n", "bad_chunk", false},
      // Limits.
      {"HeaderTooLarge", "HTTP/1.1 200 OK\r\nX: " + std::string(61 * 1024, 'v') + "\r\n\r\n",
       "header_too_large"},
      {"TooManyHeaders",
       [] {
         std::string raw = "HTTP/1.1 200 OK\r\n";
         for (int i = 0; i < 101; ++i) {
           raw += "X-" + std::to_string(i) + ": v\r\n";
         }
         return raw + "\r\n";
       }(),
       "too_many_headers"},
  };
}

class ClientCodecInvalidTest : public ClientCodecTest,
                               public testing::WithParamInterface<InvalidCase> {};

TEST_P(ClientCodecInvalidTest, RefusedWhole) {
  const InvalidCase& c = GetParam();
  sendRequest();
  auto error = feed(c.raw);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 502);
  EXPECT_EQ(error->reason, c.reason);
  if (c.head_error) {
    EXPECT_TRUE(recorder_.events.empty());
  }
  EXPECT_FALSE(codec_->keepAlive());
  // Sticky, and the close that follows reports nothing more.
  auto again = codec_->dispatch(input_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->reason, c.reason);
  EXPECT_FALSE(codec_->onConnectionClose());
}

TEST_P(ClientCodecInvalidTest, RefusedByteByByte) {
  const InvalidCase& c = GetParam();
  sendRequest();
  auto error = feed(c.raw, 1);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 502);
  EXPECT_EQ(error->reason, c.reason);
  if (c.head_error) {
    EXPECT_TRUE(recorder_.events.empty());
  }
  EXPECT_FALSE(recorder_.last_data_end);
}

INSTANTIATE_TEST_SUITE_P(Responses, ClientCodecInvalidTest, testing::ValuesIn(invalidCases()),
                         [](const testing::TestParamInfo<InvalidCase>& info) {
                           return info.param.name;
                         });

TEST_F(ClientCodecTest, ResponseLimitsAreConfigurable) {
  reset(CodecLimits{100, 2, 10});
  sendRequest();
  auto error = feed("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 502);
  EXPECT_EQ(error->reason, "too_many_headers");

  reset(CodecLimits{100, 2, 10});
  sendRequest();
  error = feed("HTTP/1.1 200 OK\r\nA: " + std::string(100, 'a') + "\r\n\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->reason, "header_too_large");
}

}  // namespace
}  // namespace proxy::http
