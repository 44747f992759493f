// The client codec on fuzzer bytes: responses as an upstream sends them, cut into pieces the
// fuzzer chooses (see FuzzInput). The request they answer is GET, or HEAD with bit 6 of the
// control byte, or with bit 7 a POST with a body. When the bytes run out the upstream
// closes (which ends a close-delimited response). Each complete response is then forwarded
// downstream as the router would (the server codec writes it, interim responses included)
// and parsed again by a client: the proxy must never pass on a response its client cannot
// read, nor change its status or body. Every refused response is 502.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/buffer/buffer_impl.h"
#include "common/http/codec.h"
#include "test/fuzz/fuzz_codec_helpers.h"
#include "test/fuzz/fuzz_input.h"
#include "test/fuzz/message_collectors.h"

namespace proxy::fuzz {
namespace {

struct Exchange {
  std::string method;
  // What the downstream client sent, for the server codec that answers it.
  std::string downstream_request;
};

Exchange exchangeFor(const FuzzInput& input) {
  if (input.flag7()) {
    return {"POST", "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"};
  }
  if (input.flag6()) {
    return {"HEAD", "HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n"};
  }
  return {"GET", "GET /g HTTP/1.1\r\nHost: a\r\n\r\n"};
}

// Writes the request upstream; the codec remembers its method.
void sendRequest(http::ClientCodec& codec, const Exchange& exchange) {
  http::RequestHeaderMap request;
  request.setMethod(exchange.method);
  request.setPath("/");
  request.add("Host", "upstream");
  buffer::OwnedBuffer out;
  const bool has_body = exchange.method == "POST";
  codec.encodeHeaders(request, !has_body, out);
  if (has_body) {
    buffer::OwnedBuffer body;
    body.add(std::string_view("abc"));
    codec.encodeData(body, true, out);
  }
}

// Forwards a complete upstream response to a downstream client through the server codec and
// checks that client reads the same status and body.
void checkForwardedResponse(const Exchange& exchange, const ResponseCollector& upstream) {
  RequestCollector downstream_request;
  http::ServerCodecPtr server = http::createServerCodec(downstream_request, generousLimits());
  buffer::OwnedBuffer request_bytes;
  request_bytes.add(exchange.downstream_request);
  FUZZ_CHECK(!server->dispatch(request_bytes));
  FUZZ_CHECK(downstream_request.complete());

  buffer::OwnedBuffer wire;
  for (const http::ResponseHeaderMapPtr& interim : upstream.interim()) {
    server->encode1xx(*interim, wire);
  }
  const http::ResponseHeaderMap& response = *upstream.finalResponse();
  const std::string body = upstream.body();
  encodeResponse(*server, response, body, upstream.trailers(), wire);

  ResponseCollector client_view;
  auto send_request = [&exchange](http::ClientCodec& client) { sendRequest(client, exchange); };
  parseAsClient(send_request, wire, !server->keepAlive(), client_view, "forwarded response");
  FUZZ_CHECK(client_view.finalResponse()->status() == response.status());
  FUZZ_CHECK(client_view.body() == body);
}

void checkError(const http::CodecError& error) {
  FUZZ_CHECK(error.status == 502);
  FUZZ_CHECK(!error.reason.empty());
}

void run(FuzzInput& input) {
  const Exchange exchange = exchangeFor(input);
  ResponseCollector collector;
  http::ClientCodecPtr codec = http::createClientCodec(collector, input.limits());
  sendRequest(*codec, exchange);
  buffer::OwnedBuffer in;
  const std::string_view wire = input.wire();
  for (size_t at = 0; at < wire.size();) {
    const size_t piece = input.nextPiece(wire.size() - at);
    in.add(wire.substr(at, piece));
    at += piece;
    auto error = codec->dispatch(in);
    if (collector.complete()) {
      checkForwardedResponse(exchange, collector);
      collector.clear();
      if (!error && codec->keepAlive()) {
        // The pool reuses the connection for the next request.
        codec->reset();
        sendRequest(*codec, exchange);
      }
    }
    if (error) {
      checkError(*error);
      FUZZ_CHECK(!codec->keepAlive());
      FUZZ_CHECK(!codec->onConnectionClose());  // nothing more after an error
      return;
    }
  }
  auto error = codec->onConnectionClose();
  if (collector.complete()) {
    FUZZ_CHECK(!error);
    checkForwardedResponse(exchange, collector);
  } else if (error) {
    checkError(*error);
  }
}

}  // namespace
}  // namespace proxy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  proxy::fuzz::FuzzInput input(data, size);
  proxy::fuzz::run(input);
  return 0;
}
