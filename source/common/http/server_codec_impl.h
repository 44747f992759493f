#pragma once

#include <optional>

#include "api/buffer/buffer.h"
#include "api/http/header_map.h"
#include "api/http/recycled_memory.h"
#include "common/http/codec.h"
#include "common/http/message_parser.h"

namespace proxy::http {

// HTTP/1.1 for the downstream side of a connection (see ServerCodec). Requests are parsed
// by MessageParser; the checks that only concern requests are here: Host (missing on 1.1,
// repeated), and Transfer-Encoding (anything but a lone "chunked": 501 when chunked is last
// but other codings come first, 400 otherwise, and 400 on an HTTP/1.0 request, RFC 9112
// §6.1). Choices where the RFCs leave room:
//  - A version other than 1.0/1.1 is 505 "unsupported_version" (RFC 9110 §15.6.6).
//  - A method llhttp does not know is 400 "malformed": llhttp cannot tell an unknown method
//    from garbage.
//  - A response is always "HTTP/1.1"; a 1xx is not sent to an HTTP/1.0 client (RFC 9110
//    §15.2); a HEAD response declares no framing of its own (no "Content-Length: 0", no
//    chunking); "Connection: close" is written whenever the connection will not be kept.
//
// Callbacks run between llhttp calls, never inside them, so they may call resume() or the
// encode methods. The codec must outlive its dispatch() calls. An idle keep-alive connection
// drops its codec and makes another for its next request: the codec's memory is recycled
// (RecycledObject), so that costs no allocation.
class ServerCodecImpl final : public ServerCodec,
                              private MessageParser::Callbacks,
                              public RecycledObject {
 public:
  ServerCodecImpl(ServerCodecCallbacks& callbacks, const CodecLimits& limits);

  // http::ServerCodec
  std::optional<CodecError> dispatch(buffer::Instance& data) override;
  void resume() override;
  bool keepAlive() const override { return keep_alive_; }
  void encodeHeaders(const ResponseHeaderMap& headers, bool end_stream, bool close,
                     buffer::Instance& out) override;
  void encodeData(buffer::Instance& data, bool end_stream, buffer::Instance& out) override;
  void encodeTrailers(const HeaderMap& trailers, buffer::Instance& out) override;
  void encode1xx(const ResponseHeaderMap& headers, buffer::Instance& out) override;
  bool upgraded() const override { return upgraded_; }

 private:
  // kUpgraded: after a 101, bytes go out as they are.
  enum class Framing { kNoBody, kContentLength, kChunked, kCloseDelimited, kUpgraded };

  // MessageParser::Callbacks
  HeaderMap& onMessageBegin() override;
  MessageParser::HeadersVerdict onHeadersComplete() override;
  HeaderMap& onTrailersBegin() override;

  // Hands what the parser produced to the callbacks.
  void deliver(bool message_complete);

  ServerCodecCallbacks& callbacks_;
  MessageParser parser_;
  std::optional<CodecError> error_;

  // The request being parsed.
  RequestHeaderMapPtr headers_;
  HeaderMapPtr trailers_;
  bool headers_ready_ = false;  // complete and checked, not yet delivered
  bool request_has_body_ = false;
  // The request is complete; parsing waits for resume().
  bool paused_ = false;
  // Its last event went to the callbacks, so resume() may act (a resume() from an earlier
  // callback of the same request, before its end was seen, is ignored).
  bool request_delivered_ = false;

  // The exchange, for the response.
  int request_version_ = 11;
  bool head_request_ = false;
  bool keep_alive_ = true;
  Framing framing_ = Framing::kContentLength;
  // The request may switch protocols (UpgradeRequest); a 101 for it switched them.
  bool upgrade_requested_ = false;
  bool upgraded_ = false;
};

}  // namespace proxy::http
