#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "api/buffer/buffer.h"
#include "api/http/header_map.h"

namespace proxy::http {

// Limits the codec enforces on a message head (docs/behaviour.md §4).
struct CodecLimits {
  // Request line (or status line) plus header bytes; over it: 431 (request) / 502 (response).
  uint32_t max_head_bytes = 60 * 1024;
  uint32_t max_headers = 100;
  // The request target alone; over it: 414.
  uint32_t max_uri_bytes = 16 * 1024;
};

// Why a message was refused. `status` is what the client gets for a request (400, 414, 431,
// 501 ...); for a response the router answers 502 instead. `reason` is a short snake_case
// word from a fixed vocabulary ("malformed", "uri_too_long", "header_too_large",
// "too_many_headers", "missing_host", "multiple_host", "obsolete_line_folding",
// "http2_preface", "unsupported_version", "bad_content_length", "bad_transfer_encoding",
// "bad_chunk", "unexpected_data", "unexpected_upgrade", "truncated", "fragment_in_target"),
// used as a metric label
// and in logs.
struct CodecError {
  int status = 400;
  std::string reason;
};

// The server codec's listener: the connection manager.
class ServerCodecCallbacks {
 public:
  virtual ~ServerCodecCallbacks() = default;
  // A request's line and headers. `end_stream` when it has no body.
  virtual void onRequestHeaders(RequestHeaderMapPtr headers, bool end_stream) = 0;
  // Body bytes (chunked framing removed); `end_stream` on the last call. May be empty with
  // end_stream.
  virtual void onRequestData(buffer::Instance& data, bool end_stream) = 0;
  // Trailers of a chunked request; the request ends with them.
  virtual void onRequestTrailers(HeaderMapPtr trailers) = 0;
};

// HTTP/1.1 for the downstream side of one connection: parses requests with llhttp in strict
// mode plus the checks llhttp lacks, and writes responses with the right framing.
class ServerCodec {
 public:
  virtual ~ServerCodec() = default;

  // Parses the bytes in `data`, draining those consumed, calling the callbacks. After a
  // complete request it stops (bytes of a pipelined next request stay in `data`) until
  // resume(). Returns the error for a malformed request; the connection manager answers it
  // and closes the connection, so the codec is not used again.
  virtual std::optional<CodecError> dispatch(buffer::Instance& data) = 0;
  // The current exchange is finished: parse the next request on the next dispatch().
  virtual void resume() = 0;
  // Whether the current request allows the connection to stay open afterwards (HTTP/1.1
  // without "Connection: close", or HTTP/1.0 with "Connection: keep-alive").
  virtual bool keepAlive() const = 0;

  // Serializes a response to `out`. Framing: a Content-Length is kept; without one, a body
  // is sent chunked to an HTTP/1.1 client, or delimited by closing the connection for an
  // HTTP/1.0 client (then keepAlive() becomes false). No body is written after a HEAD
  // request or for 1xx/204/304. `close` adds "Connection: close".
  virtual void encodeHeaders(const ResponseHeaderMap& headers, bool end_stream, bool close,
                             buffer::Instance& out) = 0;
  virtual void encodeData(buffer::Instance& data, bool end_stream, buffer::Instance& out) = 0;
  virtual void encodeTrailers(const HeaderMap& trailers, buffer::Instance& out) = 0;
  // An interim response (100 Continue): status line and headers only.
  virtual void encode1xx(const ResponseHeaderMap& headers, buffer::Instance& out) = 0;

  // Switching protocols. A request that UpgradeRequest calls tunnelable is delivered as a
  // request without body; if encodeHeaders() then writes a 101 for it (as given: the caller
  // puts Upgrade and "Connection: upgrade" in it), the connection stops being HTTP: from
  // then on dispatch() hands every byte to onRequestData(data, false) as it is (bytes
  // already buffered after the request head included), encodeData() writes bytes as they
  // are, and keepAlive() is false. The end of the client's bytes is the connection's FIN,
  // which the connection manager sees, not the codec.
  virtual bool upgraded() const = 0;
};

using ServerCodecPtr = std::unique_ptr<ServerCodec>;
ServerCodecPtr createServerCodec(ServerCodecCallbacks& callbacks, const CodecLimits& limits);

// The client codec's listener: the router's upstream request.
class ClientCodecCallbacks {
 public:
  virtual ~ClientCodecCallbacks() = default;
  // 1xx interim responses included (status < 200, end_stream false, more follows).
  virtual void onResponseHeaders(ResponseHeaderMapPtr headers, bool end_stream) = 0;
  virtual void onResponseData(buffer::Instance& data, bool end_stream) = 0;
  virtual void onResponseTrailers(HeaderMapPtr trailers) = 0;
};

// HTTP/1.1 for one upstream connection: writes requests, parses responses. One request at
// a time (no pipelining upstream).
class ClientCodec {
 public:
  virtual ~ClientCodec() = default;

  // Serializes a request to `out`: request line, headers as given (the router has already
  // set Host and removed hop-by-hop headers). A body without Content-Length is sent
  // chunked. Remembers a HEAD request, whose response has no body.
  virtual void encodeHeaders(const RequestHeaderMap& headers, bool end_stream,
                             buffer::Instance& out) = 0;
  virtual void encodeData(buffer::Instance& data, bool end_stream, buffer::Instance& out) = 0;
  virtual void encodeTrailers(const HeaderMap& trailers, buffer::Instance& out) = 0;

  // Parses response bytes, draining what was consumed. An invalid response (bad status
  // line, a header line without a colon, bad or conflicting Content-Length, Content-Length
  // with chunked, a bad chunk, bytes after a complete response) returns an error.
  virtual std::optional<CodecError> dispatch(buffer::Instance& data) = 0;
  // The upstream closed its side: completes a response delimited by the close, or returns
  // "truncated" if a response was cut off (or never started).
  virtual std::optional<CodecError> onConnectionClose() = 0;
  // After a complete response: whether the connection may carry another request.
  virtual bool keepAlive() const = 0;
  // Ready for the next request on the same connection (after a complete response).
  virtual void reset() = 0;

  // Switching protocols. When the request was tunnelable (UpgradeRequest) and the upstream
  // answers 101, the 101 is delivered with end_stream false and the connection stops being
  // HTTP: bytes after the 101's head, and every later dispatch(), go to onResponseData(data,
  // false) as they are; onConnectionClose() (the upstream's FIN or close) delivers an empty
  // onResponseData(data, true) once; encodeData() writes bytes as they are; keepAlive() is
  // false. A 101 to any other request is "unexpected_upgrade". Any other answer to a
  // tunnelable request is an ordinary response.
  virtual bool upgraded() const = 0;
};

using ClientCodecPtr = std::unique_ptr<ClientCodec>;
ClientCodecPtr createClientCodec(ClientCodecCallbacks& callbacks, const CodecLimits& limits);

}  // namespace proxy::http
