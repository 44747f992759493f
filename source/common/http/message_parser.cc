#include "common/http/message_parser.h"

#include <llhttp.h>

#include <cstring>

#include "api/http/recycled_memory.h"

namespace proxy::http {
namespace {

MessageParser* self(llhttp_t* p) { return static_cast<MessageParser*>(p->data); }

bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

// llhttp calls plain functions with its parser; `data` leads back to the MessageParser.
int MessageParser::onMessageBeginCb(llhttp_t* p) { return self(p)->onMessageBegin(); }
int MessageParser::onUrlCb(llhttp_t* p, const char* at, size_t length) {
  return self(p)->onUrl(at, length);
}
int MessageParser::onStatusCb(llhttp_t* p, const char* at, size_t length) {
  return self(p)->countHead(at, at + length);
}
int MessageParser::onMethodCb(llhttp_t* p, const char* at, size_t length) {
  return self(p)->countHead(at, at + length);
}
int MessageParser::onVersionCb(llhttp_t* p, const char* at, size_t length) {
  return self(p)->onVersion(at, length);
}
int MessageParser::onHeaderFieldCb(llhttp_t* p, const char* at, size_t length) {
  return self(p)->onHeaderField(at, length);
}
int MessageParser::onHeaderValueCb(llhttp_t* p, const char* at, size_t length) {
  return self(p)->onHeaderValue(at, length);
}
int MessageParser::onBodyCb(llhttp_t* p, const char* at, size_t length) {
  MessageParser& parser = *self(p);
  if (at == parser.exec_begin_ && at + length == parser.exec_end_) {
    // The whole slice is body: execute() hands the slice itself to body_ instead of copying.
    parser.slice_is_body_ = true;
    return 0;
  }
  parser.body_.add(at, length);
  return 0;
}
int MessageParser::onUrlCompleteCb(llhttp_t* p) { return self(p)->onUrlComplete(); }
int MessageParser::onMethodCompleteCb(llhttp_t* p) { return self(p)->onMethodComplete(); }
int MessageParser::onVersionCompleteCb(llhttp_t* p) { return self(p)->onVersionComplete(); }
int MessageParser::onStatusCompleteCb(llhttp_t* p) { return self(p)->onStatusComplete(); }
int MessageParser::onHeaderFieldCompleteCb(llhttp_t* p) { return self(p)->onHeaderFieldComplete(); }
int MessageParser::onHeaderValueCompleteCb(llhttp_t* p) { return self(p)->onHeaderValueComplete(); }
int MessageParser::onHeadersCompleteCb(llhttp_t* p) { return self(p)->onHeadersComplete(); }
int MessageParser::onMessageCompleteCb(llhttp_t* p) { return self(p)->onMessageComplete(); }

MessageParser::MessageParser(Type type, Callbacks& callbacks, const CodecLimits& limits)
    : type_(type),
      callbacks_(callbacks),
      limits_(limits),
      parser_(static_cast<llhttp_t*>(RecycledBlocks::take(sizeof(llhttp_t)))) {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = onMessageBeginCb;
    s.on_url = onUrlCb;
    s.on_status = onStatusCb;
    s.on_method = onMethodCb;
    s.on_version = onVersionCb;
    s.on_header_field = onHeaderFieldCb;
    s.on_header_value = onHeaderValueCb;
    s.on_body = onBodyCb;
    s.on_url_complete = onUrlCompleteCb;
    s.on_method_complete = onMethodCompleteCb;
    s.on_version_complete = onVersionCompleteCb;
    s.on_status_complete = onStatusCompleteCb;
    s.on_header_field_complete = onHeaderFieldCompleteCb;
    s.on_header_value_complete = onHeaderValueCompleteCb;
    s.on_headers_complete = onHeadersCompleteCb;
    s.on_message_complete = onMessageCompleteCb;
    return s;
  }();
  llhttp_init(parser_.get(), type == Type::kRequest ? HTTP_REQUEST : HTTP_RESPONSE, &settings);
  parser_->data = this;
}

MessageParser::~MessageParser() = default;

void MessageParser::ParserDeleter::operator()(llhttp_t* parser) const {
  RecycledBlocks::give(parser, sizeof(llhttp_t));
}

MessageParser::Status MessageParser::execute(buffer::Instance& data) {
  if (message_complete_) {
    return Status::kMessageComplete;
  }
  buffer::RawSlice slice;
  if (data.getRawSlices(&slice, 1) == 0 || slice.len == 0) {
    return Status::kOk;
  }
  exec_begin_ = static_cast<const char*>(slice.mem);
  exec_end_ = exec_begin_ + slice.len;
  if (in_head_ && head_anchored_) {
    head_anchor_ = exec_begin_;
  }

  const llhttp_errno_t err = llhttp_execute(parser_.get(), exec_begin_, slice.len);
  if (err != HPE_OK && err != HPE_PAUSED) {
    if (error_.reason.empty()) {
      failFromLlhttp(err);
    }
    return Status::kError;
  }
  if (err == HPE_PAUSED && !message_complete_) {
    // Only onMessageComplete() pauses; anything else would leave llhttp stuck.
    fail(400, "malformed");
    return Status::kError;
  }
  // llhttp reports where it paused: the end of the message.
  const char* end = err == HPE_PAUSED ? llhttp_get_error_pos(parser_.get()) : exec_end_;

  // The slice is about to be drained: carry over what the next one needs to know.
  if (in_head_ && head_anchored_) {
    head_bytes_ += static_cast<size_t>(end - head_anchor_);
    if (head_bytes_ > limits_.max_head_bytes) {
      fail(431, "header_too_large");
      return Status::kError;
    }
  }
  if (in_value_) {
    gap_newlines_ = gapNewlines(end);
  }
  gap_from_ = nullptr;
  savePiece();
  if (name_in_slice_) {
    name_ = map_->store(name_);  // its value comes in a later slice
    name_in_slice_ = false;
  }
  if (slice_is_body_) {
    // A bulk body moves slice by slice from the read buffer to the stream, uncopied.
    slice_is_body_ = false;
    body_.move(data, slice.len);
  } else {
    data.drain(static_cast<size_t>(end - exec_begin_));
  }
  exec_begin_ = exec_end_ = nullptr;
  return message_complete_ ? Status::kMessageComplete : Status::kOk;
}

MessageParser::Status MessageParser::finish() {
  if (!in_message_) {
    return Status::kOk;
  }
  finishing_ = true;
  const llhttp_errno_t err = llhttp_finish(parser_.get());
  finishing_ = false;
  if (err == HPE_OK && message_complete_) {
    return Status::kMessageComplete;
  }
  fail(400, "truncated");
  return Status::kError;
}

void MessageParser::reset() {
  llhttp_reset(parser_.get());
  map_ = nullptr;
  trailers_ = nullptr;
  url_ = name_ = piece_ = {};
  name_in_slice_ = false;
  piece_in_scratch_ = false;
  std::string().swap(scratch_);
  in_message_ = in_head_ = head_anchored_ = in_value_ = false;
  headers_complete_ = message_complete_ = false;
  body_.drain(body_.length());
  error_ = CodecError{};
}

int MessageParser::httpMinor() const { return parser_->http_minor; }
std::string_view MessageParser::method() const {
  return llhttp_method_name(static_cast<llhttp_method_t>(parser_->method));
}
int MessageParser::statusCode() const { return parser_->status_code; }
bool MessageParser::chunked() const { return (parser_->flags & F_CHUNKED) != 0; }
bool MessageParser::hasContentLength() const { return (parser_->flags & F_CONTENT_LENGTH) != 0; }
// llhttp counts this down while it reads the body; callers read it at headers complete.
uint64_t MessageParser::contentLength() const { return parser_->content_length; }
bool MessageParser::hasTransferEncoding() const {
  return (parser_->flags & F_TRANSFER_ENCODING) != 0;
}
bool MessageParser::connectionClose() const { return (parser_->flags & F_CONNECTION_CLOSE) != 0; }
bool MessageParser::connectionKeepAlive() const {
  return (parser_->flags & F_CONNECTION_KEEP_ALIVE) != 0;
}

int MessageParser::onMessageBegin() {
  in_message_ = true;
  in_head_ = true;
  head_anchored_ = false;
  head_bytes_ = 0;
  header_count_ = 0;
  map_ = &callbacks_.onMessageBegin();
  trailers_ = nullptr;
  url_ = name_ = piece_ = {};
  name_in_slice_ = false;
  piece_in_scratch_ = false;
  version_length_ = 0;
  version_complete_ = false;
  in_value_ = false;
  gap_from_ = nullptr;
  gap_newlines_ = 0;
  headers_complete_ = false;
  message_complete_ = false;
  return 0;
}

int MessageParser::countHead(const char* at, const char* end) {
  if (!in_head_) {
    return 0;
  }
  if (!head_anchored_) {
    // The head is counted from its first byte in a span: the method of a request, the
    // version of a status line (after "HTTP/"); empty lines before a request are free.
    head_anchored_ = true;
    head_anchor_ = at;
  }
  if (head_bytes_ + static_cast<size_t>(end - head_anchor_) > limits_.max_head_bytes) {
    return fail(431, "header_too_large");
  }
  return 0;
}

void MessageParser::addPiece(const char* at, size_t length) {
  if (length == 0) {
    return;
  }
  if (piece_in_scratch_) {
    scratch_.append(at, length);
  } else if (piece_.empty()) {
    piece_ = std::string_view(at, length);
  } else if (piece_.data() + piece_.size() == at) {
    piece_ = std::string_view(piece_.data(), piece_.size() + length);
  } else {
    scratch_.assign(piece_);
    scratch_.append(at, length);
    piece_in_scratch_ = true;
    piece_ = {};
  }
}

std::string_view MessageParser::pieceSoFar() const {
  return piece_in_scratch_ ? std::string_view(scratch_) : piece_;
}

void MessageParser::savePiece() {
  if (!piece_.empty()) {
    scratch_.assign(piece_);
    piece_in_scratch_ = true;
    piece_ = {};
  }
}

std::string_view MessageParser::takePiece(bool trim) {
  std::string_view token = pieceSoFar();
  while (trim && !token.empty() && (token.back() == ' ' || token.back() == '\t')) {
    token.remove_suffix(1);
  }
  std::string_view stored = map_->store(token);
  piece_ = {};
  if (piece_in_scratch_) {
    piece_in_scratch_ = false;
    // Split tokens are the exception: an idle connection keeps no buffer.
    std::string().swap(scratch_);
  }
  return stored;
}

uint32_t MessageParser::gapNewlines(const char* end) const {
  uint32_t count = gap_newlines_;
  const char* from = gap_from_ != nullptr ? gap_from_ : exec_begin_;
  while (from < end) {
    const void* found = std::memchr(from, '\n', static_cast<size_t>(end - from));
    if (found == nullptr) {
      break;
    }
    ++count;
    from = static_cast<const char*>(found) + 1;
  }
  return count;
}

int MessageParser::onUrl(const char* at, size_t length) {
  if (int rc = countHead(at, at + length); rc != 0) {
    return rc;
  }
  if (pieceSoFar().size() + length > limits_.max_uri_bytes) {
    return fail(414, "uri_too_long");
  }
  addPiece(at, length);
  return 0;
}

int MessageParser::onUrlComplete() {
  url_ = takePiece(false);
  return 0;
}

int MessageParser::onVersion(const char* at, size_t length) {
  if (int rc = countHead(at, at + length); rc != 0) {
    return rc;
  }
  for (size_t i = 0; i < length; ++i) {
    if (version_length_ < sizeof(version_)) {
      version_[version_length_++] = at[i];
    }
  }
  return 0;
}

int MessageParser::onMethodComplete() {
  if (type_ == Type::kRequest && parser_->method == HTTP_PRI) {
    // "PRI * HTTP/2.0": an HTTP/2 client with prior knowledge on an HTTP/1 port.
    return fail(400, "http2_preface");
  }
  return 0;
}

int MessageParser::onVersionComplete() {
  version_complete_ = true;
  // llhttp takes any single digits; only 1.0 and 1.1 are HTTP/1. For a request this is 505
  // (RFC 9110 §15.6.6), which names the problem better than 400.
  if (parser_->http_major != 1 || parser_->http_minor > 1) {
    return fail(505, "unsupported_version");
  }
  return 0;
}

int MessageParser::onStatusComplete() {
  // llhttp accepts one to three digits ("HTTP/1.1 20 OK"); a status is three, 1xx to 5xx.
  if (parser_->status_code < 100 || parser_->status_code > 599) {
    return fail(502, "malformed");
  }
  return 0;
}

int MessageParser::onHeaderField(const char* at, size_t length) {
  if (headers_complete_ && trailers_ == nullptr) {
    trailers_ = &callbacks_.onTrailersBegin();
    map_ = trailers_;
    in_head_ = true;
    head_anchored_ = false;
    head_bytes_ = 0;
    header_count_ = 0;
  }
  if (int rc = countHead(at, at + length); rc != 0) {
    return rc;
  }
  addPiece(at, length);
  gap_from_ = at + length;
  return 0;
}

int MessageParser::onHeaderFieldComplete() {
  // llhttp 8.1 takes ": v" (an empty name), and in its loose build "Host : v".
  std::string_view name = pieceSoFar();
  if (name.empty() || name.back() == ' ' || name.back() == '\t') {
    return fail(400, "malformed");
  }
  if (++header_count_ > limits_.max_headers) {
    return fail(431, "too_many_headers");
  }
  if (piece_in_scratch_) {
    name_ = takePiece(false);
  } else {
    // Usually the value follows in the same slice: both are stored at once.
    name_ = piece_;
    name_in_slice_ = true;
    piece_ = {};
  }
  in_value_ = true;
  gap_newlines_ = 0;
  return 0;
}

int MessageParser::onHeaderValue(const char* at, size_t length) {
  if (int rc = countHead(at, at + length); rc != 0) {
    return rc;
  }
  if (gapNewlines(at) > (length == 0 ? 1u : 0u)) {
    return fail(400, "obsolete_line_folding");
  }
  addPiece(at, length);
  gap_from_ = at + length;
  gap_newlines_ = 0;
  return 0;
}

int MessageParser::onHeaderValueComplete() {
  // llhttp drops leading whitespace but keeps trailing whitespace in the value.
  if (name_in_slice_ && !piece_in_scratch_) {
    // Name and value lie in the slice, the value after the name: one copy of the line from
    // the name's start to the value's end (the ": " between is a few wasted bytes).
    std::string_view value = piece_;
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
      value.remove_suffix(1);
    }
    piece_ = {};
    name_in_slice_ = false;
    if (value.empty()) {
      map_->addStored(map_->store(name_), {});
    } else {
      const char* begin = name_.data();
      std::string_view line = map_->store(
          std::string_view(begin, static_cast<size_t>(value.data() + value.size() - begin)));
      map_->addStored(line.substr(0, name_.size()),
                      line.substr(static_cast<size_t>(value.data() - begin), value.size()));
    }
    name_ = {};
    in_value_ = false;
    return 0;
  }
  if (name_in_slice_) {
    name_ = map_->store(name_);
    name_in_slice_ = false;
  }
  map_->addStored(name_, takePiece(true));
  name_ = {};
  in_value_ = false;
  return 0;
}

int MessageParser::onHeadersComplete() {
  headers_complete_ = true;
  in_head_ = false;
  in_value_ = false;
  if (!version_complete_) {
    // "GET /" with no version is an HTTP/0.9 request to llhttp, which then skips the
    // version callbacks.
    return fail(505, "unsupported_version");
  }
  HeadersVerdict verdict = callbacks_.onHeadersComplete();
  if (verdict.error) {
    error_ = std::move(*verdict.error);
    return -1;
  }
  return verdict.skip_body ? 1 : 0;
}

int MessageParser::onMessageComplete() {
  message_complete_ = true;
  in_message_ = false;
  in_head_ = false;
  // Stop here so the next message stays in the buffer until reset(); llhttp_finish() takes
  // no pause, and nothing follows a message completed by the close anyway.
  return finishing_ ? 0 : HPE_PAUSED;
}

int MessageParser::fail(int request_status, std::string_view reason) {
  if (error_.reason.empty()) {
    error_ = makeError(request_status, reason);
  }
  return -1;
}

CodecError MessageParser::makeError(int request_status, std::string_view reason) const {
  return CodecError{type_ == Type::kResponse ? 502 : request_status, std::string(reason)};
}

void MessageParser::failFromLlhttp(int llhttp_errno) {
  switch (static_cast<llhttp_errno_t>(llhttp_errno)) {
    case HPE_INVALID_CONTENT_LENGTH:
      fail(400, "bad_content_length");
      return;
    case HPE_UNEXPECTED_CONTENT_LENGTH:
      // Either a second Content-Length, or Content-Length beside Transfer-Encoding (in
      // either order: the error comes at the second of the two).
      if ((parser_->flags & (F_TRANSFER_ENCODING | F_CHUNKED)) != 0 ||
          headerNameEquals(name_, "transfer-encoding")) {
        fail(400, "bad_transfer_encoding");
      } else {
        fail(400, "bad_content_length");
      }
      return;
    case HPE_INVALID_TRANSFER_ENCODING:
      fail(400, "bad_transfer_encoding");
      return;
    case HPE_INVALID_CHUNK_SIZE:
      fail(400, "bad_chunk");
      return;
    case HPE_STRICT:
    case HPE_CR_EXPECTED:
    case HPE_LF_EXPECTED:
      // Inside a chunked body these mean a chunk not followed by its CRLF.
      if (headers_complete_ && chunked() && trailers_ == nullptr) {
        fail(400, "bad_chunk");
      } else {
        fail(400, "malformed");
      }
      return;
    case HPE_INVALID_VERSION:
      // "HTTP/1.2", "HTTP/3.0": well formed, but llhttp rejects before on_version_complete.
      if (!version_complete_ && version_length_ == 3 && isDigit(version_[0]) &&
          version_[1] == '.' && isDigit(version_[2])) {
        fail(505, "unsupported_version");
      } else {
        fail(400, "malformed");
      }
      return;
    case HPE_PAUSED_H2_UPGRADE:
      fail(400, "http2_preface");
      return;
    case HPE_CLOSED_CONNECTION:
      fail(400, "unexpected_data");
      return;
    default:
      fail(400, "malformed");
      return;
  }
}

}  // namespace proxy::http
