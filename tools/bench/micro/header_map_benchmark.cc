// The header map work a proxied request does: a head's headers stored, a few looked up, the
// forwarding headers set and the hop-by-hop ones removed.
#include <benchmark/benchmark.h>

#include <string_view>

#include "api/http/header_map.h"

namespace proxy {
namespace {

constexpr std::string_view kHeaders[][2] = {
    {"Host", "api.example.com"},
    {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"},
    {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
    {"Accept-Language", "en-US,en;q=0.5"},
    {"Accept-Encoding", "gzip, deflate, br"},
    {"Connection", "keep-alive"},
    {"Cookie", "session=0123456789abcdef0123456789abcdef; theme=dark"},
    {"Cache-Control", "max-age=0"},
    {"X-Request-Id", "8f14e45f-ceea-467f-a8f4-8a1b1c1f2a3b"},
    {"X-Forwarded-For", "203.0.113.7"},
};

void BM_HeaderMapForwardRequest(benchmark::State& state) {
  for (auto _ : state) {
    http::RequestHeaderMap headers;
    headers.setMethod("GET");
    headers.setPath("/api/v1/items/42?expand=1");
    for (const auto& header : kHeaders) {
      headers.add(header[0], header[1]);
    }
    benchmark::DoNotOptimize(headers.get("host"));
    benchmark::DoNotOptimize(headers.get("content-length"));
    benchmark::DoNotOptimize(headers.get("transfer-encoding"));
    for (std::string_view hop : {"connection", "keep-alive", "proxy-connection", "te", "trailer",
                                 "transfer-encoding", "upgrade"}) {
      headers.remove(hop);
    }
    headers.set("x-forwarded-host", "api.example.com");
    headers.set("host", "127.0.0.1:9001");
    headers.set("x-forwarded-proto", "http");
    headers.set("x-forwarded-for", "203.0.113.7, 127.0.0.1");
    benchmark::DoNotOptimize(headers.size());
  }
}
BENCHMARK(BM_HeaderMapForwardRequest);

void BM_HeaderMapLookupMiss(benchmark::State& state) {
  http::RequestHeaderMap headers;
  for (const auto& header : kHeaders) {
    headers.add(header[0], header[1]);
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(headers.get("content-length"));
  }
}
BENCHMARK(BM_HeaderMapLookupMiss);

}  // namespace
}  // namespace proxy
