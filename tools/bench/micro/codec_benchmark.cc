// The HTTP/1.1 codecs on the messages of the 100-byte keep-alive benchmark: a browser-like
// request parsed by the server codec, a small response parsed by the client codec, and the
// request serialized toward the upstream.
#include <benchmark/benchmark.h>

#include <string_view>

#include "common/buffer/buffer_impl.h"
#include "common/http/codec.h"

namespace proxy {
namespace {

constexpr std::string_view kRequest =
    "GET /api/v1/items/42?expand=1 HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n"
    "X-Request-Id: 8f14e45f-ceea-467f-a8f4-8a1b1c1f2a3b\r\n"
    "\r\n";

constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Date: Wed, 25 Nov 2026 12:00:00 GMT\r\n"
    "Server: origin\r\n"
    "Content-Length: 100\r\n"
    "\r\n"
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "012345678901234567890123456789";

class CountingServerCallbacks : public http::ServerCodecCallbacks {
 public:
  void onRequestHeaders(http::RequestHeaderMapPtr headers, bool) override {
    headers_ += headers->size();
  }
  void onRequestData(buffer::Instance& data, bool) override { data.drain(data.length()); }
  void onRequestTrailers(http::HeaderMapPtr) override {}
  size_t headers_ = 0;
};

class CountingClientCallbacks : public http::ClientCodecCallbacks {
 public:
  void onResponseHeaders(http::ResponseHeaderMapPtr headers, bool) override {
    headers_ += headers->size();
  }
  void onResponseData(buffer::Instance& data, bool) override {
    body_ += data.length();
    data.drain(data.length());
  }
  void onResponseTrailers(http::HeaderMapPtr) override {}
  size_t headers_ = 0;
  size_t body_ = 0;
};

void BM_ServerCodecParseRequest(benchmark::State& state) {
  CountingServerCallbacks callbacks;
  http::ServerCodecPtr codec = http::createServerCodec(callbacks, http::CodecLimits{});
  buffer::OwnedBuffer data;
  for (auto _ : state) {
    data.add(kRequest);
    if (codec->dispatch(data).has_value()) {
      state.SkipWithError("the request was rejected");
      break;
    }
    codec->resume();
  }
  if (callbacks.headers_ != 8 * static_cast<size_t>(state.iterations())) {
    state.SkipWithError("not every request was parsed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRequest.size()));
}
BENCHMARK(BM_ServerCodecParseRequest);

void BM_ClientCodecParseResponse(benchmark::State& state) {
  CountingClientCallbacks callbacks;
  http::ClientCodecPtr codec = http::createClientCodec(callbacks, http::CodecLimits{});
  http::RequestHeaderMap request;
  request.setMethod("GET");
  request.setPath("/");
  request.add("Host", "origin");
  buffer::OwnedBuffer out;
  buffer::OwnedBuffer data;
  for (auto _ : state) {
    codec->encodeHeaders(request, true, out);
    out.drain(out.length());
    data.add(kResponse);
    if (codec->dispatch(data).has_value()) {
      state.SkipWithError("the response was rejected");
      break;
    }
    codec->reset();
  }
  if (callbacks.body_ != 100 * static_cast<size_t>(state.iterations())) {
    state.SkipWithError("not every response body was seen");
  }
}
BENCHMARK(BM_ClientCodecParseResponse);

void BM_ClientCodecEncodeRequest(benchmark::State& state) {
  CountingClientCallbacks callbacks;
  http::ClientCodecPtr codec = http::createClientCodec(callbacks, http::CodecLimits{});
  http::RequestHeaderMap request;
  request.setMethod("GET");
  request.setPath("/api/v1/items/42?expand=1");
  request.add("Host", "127.0.0.1:9001");
  request.add("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36");
  request.add("Accept", "*/*");
  request.add("X-Forwarded-For", "203.0.113.7");
  request.add("X-Forwarded-Proto", "http");
  request.add("X-Forwarded-Host", "api.example.com");
  buffer::OwnedBuffer out;
  for (auto _ : state) {
    codec->encodeHeaders(request, true, out);
    benchmark::DoNotOptimize(out.length());
    out.drain(out.length());
  }
}
BENCHMARK(BM_ClientCodecEncodeRequest);

}  // namespace
}  // namespace proxy
