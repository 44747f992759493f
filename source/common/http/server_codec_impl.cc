#include "common/http/server_codec_impl.h"

#include <memory>
#include <string_view>

#include "common/http/message_writer.h"
#include "common/http/upgrade.h"

namespace proxy::http {
namespace {

std::string_view trim(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
    value.remove_suffix(1);
  }
  return value;
}

MessageParser::HeadersVerdict reject(int status, const char* reason) {
  return MessageParser::HeadersVerdict{CodecError{status, reason}, false};
}

}  // namespace

ServerCodecPtr createServerCodec(ServerCodecCallbacks& callbacks, const CodecLimits& limits) {
  return std::make_unique<ServerCodecImpl>(callbacks, limits);
}

ServerCodecImpl::ServerCodecImpl(ServerCodecCallbacks& callbacks, const CodecLimits& limits)
    : callbacks_(callbacks), parser_(MessageParser::Type::kRequest, *this, limits) {}

std::optional<CodecError> ServerCodecImpl::dispatch(buffer::Instance& data) {
  if (error_) {
    return error_;
  }
  if (upgraded_) {
    // A byte tunnel now: nothing is parsed.
    if (data.length() > 0) {
      callbacks_.onRequestData(data, false);
      data.drain(data.length());
    }
    return std::nullopt;
  }
  while (!paused_ && data.length() > 0) {
    MessageParser::Status status = parser_.execute(data);
    if (status == MessageParser::Status::kError) {
      error_ = parser_.error();
      keep_alive_ = false;
      return error_;
    }
    const bool complete = status == MessageParser::Status::kMessageComplete;
    // Paused before the callbacks run: one of them may answer and resume() at once.
    paused_ = complete;
    deliver(complete);
  }
  return std::nullopt;
}

void ServerCodecImpl::deliver(bool message_complete) {
  const bool has_body = request_has_body_;
  const bool has_trailers = trailers_ != nullptr;
  if (headers_ready_) {
    headers_ready_ = false;
    // Without a body llhttp completes the message with its headers.
    request_delivered_ = !has_body;
    callbacks_.onRequestHeaders(std::move(headers_), !has_body);
  }
  if (!has_body) {
    return;
  }
  buffer::OwnedBuffer& body = parser_.body();
  if (body.length() > 0 || (message_complete && !has_trailers)) {
    const bool last = message_complete && !has_trailers;
    request_delivered_ = last;
    callbacks_.onRequestData(body, last);
    // Whatever the callee left is not kept: bodies are streamed, never accumulated here.
    body.drain(body.length());
  }
  if (message_complete && has_trailers) {
    request_delivered_ = true;
    callbacks_.onRequestTrailers(std::move(trailers_));
  }
}

void ServerCodecImpl::resume() {
  if (!paused_ || !request_delivered_ || upgraded_) {
    return;
  }
  paused_ = false;
  request_delivered_ = false;
  // A fresh llhttp state rather than llhttp_resume(): after an Upgrade or CONNECT request
  // that was answered without switching protocols, llhttp would otherwise stop again.
  parser_.reset();
  request_has_body_ = false;
  trailers_.reset();
}

HeaderMap& ServerCodecImpl::onMessageBegin() {
  headers_ = std::make_unique<RequestHeaderMap>();
  trailers_.reset();
  headers_ready_ = false;
  request_has_body_ = false;
  request_delivered_ = false;
  request_version_ = 11;
  head_request_ = false;
  keep_alive_ = true;
  framing_ = Framing::kContentLength;
  upgrade_requested_ = false;
  return *headers_;
}

MessageParser::HeadersVerdict ServerCodecImpl::onHeadersComplete() {
  RequestHeaderMap& headers = *headers_;
  const bool http10 = parser_.httpMinor() == 0;
  request_version_ = http10 ? 10 : 11;
  headers.setVersion(request_version_);
  headers.setMethodStored(parser_.method());
  headers.setPathStored(parser_.url());
  head_request_ = headers.method() == "HEAD";
  keep_alive_ = http10 ? parser_.connectionKeepAlive() : !parser_.connectionClose();

  // A fragment is the client's own business (RFC 9110 §7.1); one sent in a target is
  // refused rather than forwarded, where an upstream might route or cache by it.
  if (parser_.url().find('#') != std::string_view::npos) {
    return reject(400, "fragment_in_target");
  }
  const size_t hosts = headers.count("host");
  if (hosts > 1) {
    return reject(400, "multiple_host");
  }
  if (hosts == 0 && !http10) {
    return reject(400, "missing_host");
  }
  if (parser_.hasTransferEncoding()) {
    // llhttp would refuse a request whose last coding is not chunked, but only after this
    // callback; refusing here keeps such headers from being delivered.
    if (!parser_.chunked() || http10) {
      return reject(400, "bad_transfer_encoding");
    }
    std::optional<std::string_view> coding = headers.get("transfer-encoding");
    if (headers.count("transfer-encoding") != 1 || !coding ||
        !headerNameEquals(trim(*coding), "chunked")) {
      return reject(501, "bad_transfer_encoding");
    }
  }
  request_has_body_ = parser_.chunked() || parser_.contentLength() > 0;
  upgrade_requested_ = UpgradeRequest::tunnelable(headers, !request_has_body_);
  headers_ready_ = true;
  return {};
}

HeaderMap& ServerCodecImpl::onTrailersBegin() {
  trailers_ = std::make_unique<HeaderMap>();
  return *trailers_;
}

void ServerCodecImpl::encodeHeaders(const ResponseHeaderMap& headers, bool end_stream, bool close,
                                    buffer::Instance& out) {
  const int status = headers.status();
  if (status == 101 && upgrade_requested_) {
    // The head as given (it carries Upgrade and "Connection: upgrade"); then raw bytes.
    framing_ = Framing::kUpgraded;
    upgraded_ = true;
    keep_alive_ = false;
    MessageWriter::writeResponseHead(status, headers, {}, out);
    return;
  }
  bool has_content_length = false;
  bool says_close = false;
  bool says_keep_alive = false;
  for (const HeaderMap::Entry& entry : headers.entries()) {
    if (headerNameEquals(entry.name, "content-length")) {
      has_content_length = true;
    } else if (headerNameEquals(entry.name, "connection")) {
      says_close = says_close || MessageWriter::hasToken(entry.value, "close");
      says_keep_alive = says_keep_alive || MessageWriter::hasToken(entry.value, "keep-alive");
    }
  }

  MessageWriter::ExtraHeader extras[2];
  size_t extra_count = 0;
  if (head_request_ || status < 200 || status == 204 || status == 304) {
    framing_ = Framing::kNoBody;
  } else if (has_content_length) {
    framing_ = Framing::kContentLength;
  } else if (end_stream) {
    framing_ = Framing::kContentLength;
    extras[extra_count++] = {"Content-Length", "0"};
  } else if (request_version_ == 11) {
    framing_ = Framing::kChunked;
    extras[extra_count++] = {"Transfer-Encoding", "chunked"};
  } else {
    framing_ = Framing::kCloseDelimited;
    keep_alive_ = false;
  }
  if (close || says_close) {
    keep_alive_ = false;
  }
  if (!keep_alive_ && !says_close) {
    extras[extra_count++] = {"Connection", "close"};
  } else if (keep_alive_ && request_version_ == 10 && !says_keep_alive) {
    extras[extra_count++] = {"Connection", "keep-alive"};
  }
  MessageWriter::writeResponseHead(status, headers, {extras, extra_count}, out);
}

void ServerCodecImpl::encodeData(buffer::Instance& data, bool end_stream, buffer::Instance& out) {
  switch (framing_) {
    case Framing::kNoBody:
      data.drain(data.length());
      return;
    case Framing::kContentLength:
    case Framing::kCloseDelimited:
    case Framing::kUpgraded:
      out.move(data);
      return;
    case Framing::kChunked:
      MessageWriter::writeChunk(data, out);
      if (end_stream) {
        MessageWriter::writeLastChunk(out);
      }
      return;
  }
}

void ServerCodecImpl::encodeTrailers(const HeaderMap& trailers, buffer::Instance& out) {
  // Only chunked framing can carry trailers; otherwise they are dropped (docs/behaviour.md §3).
  if (framing_ == Framing::kChunked) {
    MessageWriter::writeTrailers(trailers, out);
  }
}

void ServerCodecImpl::encode1xx(const ResponseHeaderMap& headers, buffer::Instance& out) {
  if (request_version_ == 10) {
    return;
  }
  MessageWriter::writeResponseHead(headers.status(), headers, {}, out);
}

}  // namespace proxy::http
