#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/buffer/buffer.h"
#include "api/http/header_map.h"
#include "common/buffer/buffer_impl.h"
#include "common/http/codec.h"

// llhttp's parser state, kept out of this header: proxy_common links llhttp privately, so
// its header is not on the include path of code that includes ours.
struct llhttp__internal_s;

namespace proxy::http {

// One direction of HTTP/1.1 parsing on llhttp (strict mode, no lenient flags), shared by the
// server and client codecs. It feeds llhttp a buffer's slices in place, assembles header
// names and values that arrive in pieces into the current HeaderMap's arena, collects body
// bytes, enforces CodecLimits, and adds the checks llhttp 8.1 lacks for any message:
// obsolete line folding, an empty header name, and the start line's version (and for a
// request the HTTP/2 preface, for a response the status range). Checks that depend on the
// side (Host, framing choices) are the codec's, in Callbacks::onHeadersComplete().
//
// It stops after every complete message (execute() returns kMessageComplete with the bytes
// of what follows left in the buffer); reset() starts the next one. Callbacks run inside
// llhttp and must not re-enter the parser: the codecs only record there, and hand events to
// their users between execute() calls, where those users may call back into the codec.
class MessageParser {
 public:
  enum class Type { kRequest, kResponse };

  enum class Status {
    kOk,               // the first slice was consumed whole
    kMessageComplete,  // a message ended; parsing is stopped until reset()
    kError,            // see error()
  };

  struct HeadersVerdict {
    std::optional<CodecError> error;
    // The message has no body whatever its headers say (a response to HEAD, 1xx, 204, 304).
    bool skip_body = false;
  };

  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // A message starts. Returns the map that receives its headers (and URL bytes); the map
    // must stay alive until onHeadersComplete() returns.
    virtual HeaderMap& onMessageBegin() = 0;
    // The head is complete and passed the generic checks; the accessors below describe it.
    virtual HeadersVerdict onHeadersComplete() = 0;
    // A chunked message's trailer section starts. Returns the map that receives it.
    virtual HeaderMap& onTrailersBegin() = 0;
  };

  MessageParser(Type type, Callbacks& callbacks, const CodecLimits& limits);
  ~MessageParser();
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  // Parses the first slice of `data` and drains what was consumed.
  Status execute(buffer::Instance& data);
  // The peer closed: completes a message delimited by the close (kMessageComplete), kOk if
  // no message was in progress, kError ("truncated") if one was cut off.
  Status finish();
  // Forgets the message that completed (or failed); the next byte starts a new one.
  void reset();

  const CodecError& error() const { return error_; }

  // The head, valid from onHeadersComplete() until reset().
  int httpMinor() const;
  // The method's canonical name (static storage), for a request.
  std::string_view method() const;
  // The request target, stored in the map from onMessageBegin().
  std::string_view url() const { return url_; }
  int statusCode() const;
  bool chunked() const;
  bool hasContentLength() const;
  uint64_t contentLength() const;
  bool hasTransferEncoding() const;
  // llhttp's reading of the Connection header's tokens.
  bool connectionClose() const;
  bool connectionKeepAlive() const;

  // Body bytes (chunk framing removed) parsed so far and not yet taken by the codec.
  buffer::OwnedBuffer& body() { return body_; }

 private:
  static int onMessageBeginCb(llhttp__internal_s* p);
  static int onUrlCb(llhttp__internal_s* p, const char* at, size_t length);
  static int onStatusCb(llhttp__internal_s* p, const char* at, size_t length);
  static int onMethodCb(llhttp__internal_s* p, const char* at, size_t length);
  static int onVersionCb(llhttp__internal_s* p, const char* at, size_t length);
  static int onHeaderFieldCb(llhttp__internal_s* p, const char* at, size_t length);
  static int onHeaderValueCb(llhttp__internal_s* p, const char* at, size_t length);
  static int onBodyCb(llhttp__internal_s* p, const char* at, size_t length);
  static int onUrlCompleteCb(llhttp__internal_s* p);
  static int onMethodCompleteCb(llhttp__internal_s* p);
  static int onVersionCompleteCb(llhttp__internal_s* p);
  static int onStatusCompleteCb(llhttp__internal_s* p);
  static int onHeaderFieldCompleteCb(llhttp__internal_s* p);
  static int onHeaderValueCompleteCb(llhttp__internal_s* p);
  static int onHeadersCompleteCb(llhttp__internal_s* p);
  static int onMessageCompleteCb(llhttp__internal_s* p);

  int onMessageBegin();
  int onUrl(const char* at, size_t length);
  int onVersion(const char* at, size_t length);
  int onHeaderField(const char* at, size_t length);
  int onHeaderValue(const char* at, size_t length);
  int onUrlComplete();
  int onMethodComplete();
  int onVersionComplete();
  int onStatusComplete();
  int onHeaderFieldComplete();
  int onHeaderValueComplete();
  int onHeadersComplete();
  int onMessageComplete();

  // Counts head bytes up to `end` and fails when over the limit.
  int countHead(const char* at, const char* end);
  // The token (URL, header name or value) being received, in pieces.
  void addPiece(const char* at, size_t length);
  std::string_view pieceSoFar() const;
  // Before the slice is drained: an open token moves to scratch_.
  void savePiece();
  // The complete token, without trailing whitespace if `trim`, copied into the arena.
  std::string_view takePiece(bool trim);
  // Line breaks in the gap of the current header up to `end` (in the current slice).
  uint32_t gapNewlines(const char* end) const;
  // Sets error_ and returns llhttp's "stop" value.
  int fail(int request_status, std::string_view reason);
  void failFromLlhttp(int llhttp_errno);
  CodecError makeError(int request_status, std::string_view reason) const;

  const Type type_;
  Callbacks& callbacks_;
  const CodecLimits limits_;
  // From recycled memory: a server codec (and so its parser) is made per request on a
  // keep-alive connection that was idle.
  struct ParserDeleter {
    void operator()(llhttp__internal_s* parser) const;
  };
  std::unique_ptr<llhttp__internal_s, ParserDeleter> parser_;

  // Where the slice being executed lies, for positions of pieces within it.
  const char* exec_begin_ = nullptr;
  const char* exec_end_ = nullptr;

  HeaderMap* map_ = nullptr;       // headers or trailers being filled
  HeaderMap* trailers_ = nullptr;  // set once trailers start
  std::string_view url_;           // in the arena
  // The header name, until its value completes: in the arena, or (name_in_slice_) still
  // in the slice being executed, to be stored with its value in one copy.
  std::string_view name_;
  bool name_in_slice_ = false;
  // The open token: a view into the slice being parsed while it lies there whole; a read
  // boundary that splits it moves it to scratch_, which grows by doubling, so a head that
  // trickles in one byte at a time still costs linear time and one arena copy per token.
  std::string_view piece_;
  bool piece_in_scratch_ = false;
  std::string scratch_;
  char version_[4] = {};
  uint8_t version_length_ = 0;
  bool version_complete_ = false;

  // Head accounting: bytes of the head (or trailer section) in earlier slices, and where
  // it starts in the current one.
  bool in_message_ = false;
  bool in_head_ = false;
  bool head_anchored_ = false;
  const char* head_anchor_ = nullptr;
  size_t head_bytes_ = 0;
  uint32_t header_count_ = 0;

  // Obsolete line folding: llhttp 8.1 accepts it and hands the continuation line to
  // on_header_value as one more piece of the same value. Such a piece is preceded by a line
  // break, which lies outside every span: the line breaks between the end of the previous
  // piece of this header and the start of the next (the "gap") are counted. A piece with
  // text after a line break is a fold. An empty value is reported as an empty piece placed
  // at the start of the next line, after its own line break: one is allowed there, two
  // mean a fold of whitespace only.
  bool in_value_ = false;
  const char* gap_from_ = nullptr;  // in the current slice; nullptr: from its start
  uint32_t gap_newlines_ = 0;       // in earlier slices

  bool headers_complete_ = false;
  bool message_complete_ = false;
  bool finishing_ = false;
  buffer::OwnedBuffer body_;
  // onBodyCb found the slice being parsed to be body from its first byte to its last.
  bool slice_is_body_ = false;
  CodecError error_;
};

}  // namespace proxy::http
