#pragma once

#include <cstddef>
#include <initializer_list>
#include <span>
#include <string_view>

#include "api/buffer/buffer.h"
#include "api/http/header_map.h"

namespace proxy::http {

// Serialization shared by the server and client codecs: message heads, chunk framing and
// trailer sections, each appended to the output buffer in as few writes as possible.
class MessageWriter {
 public:
  // A header the codec adds after the caller's (framing, Connection).
  struct ExtraHeader {
    std::string_view name;
    std::string_view value;
  };

  // Appends `start_line` (its parts joined by single spaces, then CRLF), every header of
  // `headers` but Transfer-Encoding (framing is the codec's to declare), `extras`, and the
  // empty line, with one copy: the size is summed first and the bytes are written straight
  // into reserved space when `out` is an OwnedBuffer. `drop_content_length` leaves out
  // Content-Length too (a head that must not carry one).
  static void writeHead(std::initializer_list<std::string_view> start_line,
                        const HeaderMap& headers, std::span<const ExtraHeader> extras,
                        buffer::Instance& out, bool drop_content_length = false);
  // writeHead() with the status line "HTTP/1.1 <status> <reason phrase>". A 1xx or 204
  // head never carries Content-Length (RFC 9110 §8.6), whatever the upstream sent.
  static void writeResponseHead(int status, const HeaderMap& headers,
                                std::span<const ExtraHeader> extras, buffer::Instance& out);
  // Moves `data` to `out` as one chunk ("<hex size>\r\n<data>\r\n"); nothing if empty.
  static void writeChunk(buffer::Instance& data, buffer::Instance& out);
  // The last chunk and an empty trailer section.
  static void writeLastChunk(buffer::Instance& out);
  // The last chunk and `trailers` as its trailer section, without the fields a trailer
  // must not carry (framing, routing, connection and content-format fields, RFC 9110
  // §6.5.1: Content-Length, Transfer-Encoding, Host, Connection, ...).
  static void writeTrailers(const HeaderMap& trailers, buffer::Instance& out);

  // The standard reason phrase of a status code; "Unknown" for others.
  static std::string_view reasonPhrase(int status);
  // Whether a comma-separated header value lists `token` (case-insensitive), as in
  // "Connection: keep-alive, Upgrade".
  static bool hasToken(std::string_view list, std::string_view token);
};

}  // namespace proxy::http
