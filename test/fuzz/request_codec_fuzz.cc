// The server codec on fuzzer bytes: requests as a client sends them, cut into pieces the
// fuzzer chooses (see FuzzInput). Each complete request is then
//  - forwarded as the router would (the client codec writes it) and parsed again: what an
//    upstream reads must be the same request, or the proxy could be used to smuggle one;
//  - answered by the server codec (the status and framing from the control byte: bit 6
//    picks the status table's offset, bit 7 adds a Content-Length), and the answer parsed
//    by a client codec: the proxy must never write a response its client cannot read.
// A refused request must get one of the statuses docs/behaviour.md §4 names.

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

constexpr int kStatuses[] = {200, 404, 204, 304, 101, 500, 302, 201};

// The router's upstream side: writes the request with the client codec, then parses the
// bytes as the upstream server would and compares.
void checkForwardedRequest(const RequestCollector& request) {
  const http::RequestHeaderMap& headers = *request.headers();
  if (!headers.get("host")) {
    return;  // the router always sets one; an HTTP/1.0 request may come without
  }
  ResponseCollector unused;
  http::ClientCodecPtr client = http::createClientCodec(unused, generousLimits());
  buffer::OwnedBuffer wire;
  const std::string body = request.body();
  encodeRequest(*client, headers, body, request.trailers(), wire);

  RequestCollector upstream;
  parseAsServer(wire, upstream, "forwarded request");
  FUZZ_CHECK(upstream.headers()->method() == headers.method());
  FUZZ_CHECK(upstream.headers()->path() == headers.path());
  FUZZ_CHECK(upstream.body() == body);
}

// The downstream side: answers the request and checks a client reads the answer.
bool answer(http::ServerCodec& codec, const RequestCollector& request, int status,
            bool content_length) {
  // A 101 answers only an upgrade request; to any other request the client codec refuses it
  // (unexpected_upgrade), as the router does. The harness answers such requests 200.
  if (status == 101) {
    status = 200;
  }
  http::ResponseHeaderMap response;
  response.setStatus(status);
  response.add("x-method", request.headers()->method());
  const std::string body = request.body();
  if (content_length) {
    response.add("Content-Length", std::to_string(body.size()));
  }
  buffer::OwnedBuffer wire;
  encodeResponse(codec, response, body, request.trailers(), wire);

  ResponseCollector client_view;
  auto send_request = [&request](http::ClientCodec& client) {
    buffer::OwnedBuffer request_wire;
    client.encodeHeaders(*request.headers(), true, request_wire);  // remembers a HEAD
  };
  parseAsClient(send_request, wire, !codec.keepAlive(), client_view, "response");
  FUZZ_CHECK(client_view.finalResponse()->status() == status);
  return codec.keepAlive();
}

void run(FuzzInput& input) {
  RequestCollector collector;
  http::ServerCodecPtr codec = http::createServerCodec(collector, input.limits());
  buffer::OwnedBuffer in;
  const std::string_view wire = input.wire();
  int answered = input.flag6() ? 4 : 0;
  for (size_t at = 0; at < wire.size();) {
    const size_t piece = input.nextPiece(wire.size() - at);
    in.add(wire.substr(at, piece));
    at += piece;
    while (true) {
      const size_t before = in.length();
      if (auto error = codec->dispatch(in)) {
        FUZZ_CHECK(error->status == 400 || error->status == 414 || error->status == 431 ||
                   error->status == 501 || error->status == 505);
        FUZZ_CHECK(!error->reason.empty());
        FUZZ_CHECK(!codec->keepAlive());
        // The error sticks.
        auto again = codec->dispatch(in);
        FUZZ_CHECK(again && again->reason == error->reason);
        return;
      }
      FUZZ_CHECK(in.length() <= before);
      if (!collector.complete()) {
        break;
      }
      checkForwardedRequest(collector);
      const int status = kStatuses[answered++ % std::size(kStatuses)];
      if (!answer(*codec, collector, status, input.flag7())) {
        return;  // the connection closes after this response
      }
      collector.clear();
      codec->resume();
    }
  }
}

}  // namespace
}  // namespace proxy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  proxy::fuzz::FuzzInput input(data, size);
  proxy::fuzz::run(input);
  return 0;
}
