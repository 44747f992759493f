#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "common/buffer/buffer_impl.h"
#include "common/http/codec.h"
#include "test/fuzz/fuzz_input.h"
#include "test/fuzz/message_collectors.h"

namespace proxy::fuzz {

// What the codec targets share to re-encode a parsed message as the proxy forwards it and
// parse the result again as the peer on the other side would.

// Whether a message has more than its headers: a body, or trailers (which need a chunked one).
inline bool hasBody(const std::string& body, const http::HeaderMap* trailers) {
  return !body.empty() || trailers != nullptr;
}

// Writes what follows a message's headers the way the router and the connection manager do:
// the body as one piece, then the trailers if there are any. Nothing when !hasBody().
template <class Codec>
void encodeBodyAndTrailers(Codec& codec, const std::string& body, const http::HeaderMap* trailers,
                           buffer::Instance& wire) {
  if (!hasBody(body, trailers)) {
    return;
  }
  buffer::OwnedBuffer data;
  data.add(body);
  codec.encodeData(data, trailers == nullptr, wire);
  FUZZ_CHECK(data.length() == 0);
  if (trailers != nullptr) {
    codec.encodeTrailers(*trailers, wire);
  }
}

// A request as the router writes it upstream (client codec).
inline void encodeRequest(http::ClientCodec& codec, const http::RequestHeaderMap& headers,
                          const std::string& body, const http::HeaderMap* trailers,
                          buffer::Instance& wire) {
  codec.encodeHeaders(headers, !hasBody(body, trailers), wire);
  encodeBodyAndTrailers(codec, body, trailers, wire);
}

// A final response as the connection manager writes it downstream (server codec), on a
// connection it does not itself mean to close.
inline void encodeResponse(http::ServerCodec& codec, const http::ResponseHeaderMap& headers,
                           const std::string& body, const http::HeaderMap* trailers,
                           buffer::Instance& wire) {
  codec.encodeHeaders(headers, !hasBody(body, trailers), false, wire);
  encodeBodyAndTrailers(codec, body, trailers, wire);
}

// Parses `wire` as an upstream server: it must hold exactly one complete request, which
// lands in `upstream`. `what` names the bytes when they are refused.
inline void parseAsServer(buffer::Instance& wire, RequestCollector& upstream, const char* what) {
  http::ServerCodecPtr server = http::createServerCodec(upstream, generousLimits());
  const std::string written = wire.toString();
  auto error = server->dispatch(wire);
  if (error) {
    std::fprintf(stderr, "%s refused (%s):\n%s\n", what, error->reason.c_str(), written.c_str());
  }
  FUZZ_CHECK(!error);
  FUZZ_CHECK(upstream.complete());
  FUZZ_CHECK(wire.length() == 0);
}

// Parses `wire` as a client that sent its request with `send_request` (which tells the codec
// the method, so a HEAD's answer has no body): it must read one complete response into
// `client_view`. `closes`: the server closes the connection after it (which ends a
// close-delimited body). `what` names the bytes when they are unreadable.
inline void parseAsClient(const std::function<void(http::ClientCodec&)>& send_request,
                          buffer::Instance& wire, bool closes, ResponseCollector& client_view,
                          const char* what) {
  http::ClientCodecPtr client = http::createClientCodec(client_view, generousLimits());
  send_request(*client);
  const std::string written = wire.toString();
  auto error = client->dispatch(wire);
  if (!error && closes) {
    error = client->onConnectionClose();
  }
  if (error) {
    std::fprintf(stderr, "%s unreadable (%s):\n%s\n", what, error->reason.c_str(), written.c_str());
  }
  FUZZ_CHECK(!error);
  FUZZ_CHECK(client_view.complete());
}

}  // namespace proxy::fuzz
