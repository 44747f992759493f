#pragma once

#include <optional>

#include "api/buffer/buffer.h"
#include "api/http/header_map.h"
#include "common/http/codec.h"
#include "common/http/message_parser.h"

namespace proxy::http {

// HTTP/1.1 for one upstream connection (see ClientCodec). Responses are parsed by
// MessageParser; every error is status 502. Choices where the RFCs leave room:
//  - A request ended with its headers (no Content-Length) gets "Content-Length: 0" when its
//    method is POST, PUT or PATCH: some servers answer 411 otherwise (RFC 9110 §8.6 SHOULD).
//  - A response with any Transfer-Encoding but a lone "chunked" is refused
//    ("bad_transfer_encoding"): the coding would be lost when the proxy re-frames the body.
//  - 101 Switching Protocols to a tunnelable request (UpgradeRequest) turns the connection
//    into a byte tunnel (see ClientCodec::upgraded()); to any other request it is
//    "unexpected_upgrade": the upstream switched protocols nobody asked for.
//  - Bytes after a complete response: the response is delivered, then dispatch() returns
//    "unexpected_data" and keepAlive() is false.
//  - After an error, onConnectionClose() reports nothing more.
//
// Callbacks run between llhttp calls, never inside them. The codec must outlive its
// dispatch() and onConnectionClose() calls, though the callbacks of the final response may
// call reset() and encode the next request.
class ClientCodecImpl final : public ClientCodec, private MessageParser::Callbacks {
 public:
  ClientCodecImpl(ClientCodecCallbacks& callbacks, const CodecLimits& limits);

  // http::ClientCodec
  void encodeHeaders(const RequestHeaderMap& headers, bool end_stream,
                     buffer::Instance& out) override;
  void encodeData(buffer::Instance& data, bool end_stream, buffer::Instance& out) override;
  void encodeTrailers(const HeaderMap& trailers, buffer::Instance& out) override;
  std::optional<CodecError> dispatch(buffer::Instance& data) override;
  std::optional<CodecError> onConnectionClose() override;
  bool keepAlive() const override { return keep_alive_; }
  void reset() override;
  bool upgraded() const override { return upgraded_; }

 private:
  enum class Framing { kNoBody, kContentLength, kChunked };

  // MessageParser::Callbacks
  HeaderMap& onMessageBegin() override;
  MessageParser::HeadersVerdict onHeadersComplete() override;
  HeaderMap& onTrailersBegin() override;

  // Hands what the parser produced to the callbacks. Members are not touched after the
  // callbacks of a complete final response: they may reset() the codec.
  void deliver(bool message_complete);
  CodecError fail(const char* reason);
  void resetResponse();

  ClientCodecCallbacks& callbacks_;
  MessageParser parser_;
  std::optional<CodecError> error_;

  // The request.
  Framing framing_ = Framing::kNoBody;
  bool head_request_ = false;
  // A request was sent and its final response is not complete yet.
  bool awaiting_response_ = false;
  // The request may switch protocols; a 101 switched them; the tunnel's end was delivered.
  bool upgrade_requested_ = false;
  bool upgraded_ = false;
  bool tunnel_ended_ = false;

  // The response being parsed.
  ResponseHeaderMapPtr headers_;
  HeaderMapPtr trailers_;
  bool headers_ready_ = false;
  bool interim_ = false;         // a 1xx other than 101: the final response follows
  bool end_at_headers_ = false;  // no body follows the headers
  bool keep_alive_ = true;
};

}  // namespace proxy::http
