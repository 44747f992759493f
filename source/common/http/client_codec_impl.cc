#include "common/http/client_codec_impl.h"

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

}  // namespace

ClientCodecPtr createClientCodec(ClientCodecCallbacks& callbacks, const CodecLimits& limits) {
  return std::make_unique<ClientCodecImpl>(callbacks, limits);
}

ClientCodecImpl::ClientCodecImpl(ClientCodecCallbacks& callbacks, const CodecLimits& limits)
    : callbacks_(callbacks), parser_(MessageParser::Type::kResponse, *this, limits) {}

void ClientCodecImpl::encodeHeaders(const RequestHeaderMap& headers, bool end_stream,
                                    buffer::Instance& out) {
  bool has_content_length = false;
  for (const HeaderMap::Entry& entry : headers.entries()) {
    if (headerNameEquals(entry.name, "content-length")) {
      has_content_length = true;
      break;
    }
  }
  const std::string_view method = headers.method();
  MessageWriter::ExtraHeader extras[1];
  size_t extra_count = 0;
  if (has_content_length) {
    framing_ = Framing::kContentLength;
  } else if (end_stream) {
    framing_ = Framing::kNoBody;
    if (method == "POST" || method == "PUT" || method == "PATCH") {
      extras[extra_count++] = {"Content-Length", "0"};
    }
  } else {
    framing_ = Framing::kChunked;
    extras[extra_count++] = {"Transfer-Encoding", "chunked"};
  }
  if (!awaiting_response_) {
    // The last exchange is over even if reset() was not called: parse afresh.
    resetResponse();
  }
  head_request_ = method == "HEAD";
  upgrade_requested_ = UpgradeRequest::tunnelable(headers, end_stream);
  awaiting_response_ = true;
  const std::string_view path = headers.path().empty() ? std::string_view("/") : headers.path();
  MessageWriter::writeHead({method, path, "HTTP/1.1"}, headers, {extras, extra_count}, out);
}

void ClientCodecImpl::encodeData(buffer::Instance& data, bool end_stream, buffer::Instance& out) {
  if (upgraded_) {
    out.move(data);
    return;
  }
  switch (framing_) {
    case Framing::kNoBody:
      data.drain(data.length());
      return;
    case Framing::kContentLength:
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

void ClientCodecImpl::encodeTrailers(const HeaderMap& trailers, buffer::Instance& out) {
  // Only chunked framing can carry trailers; with a Content-Length they are dropped.
  if (framing_ == Framing::kChunked) {
    MessageWriter::writeTrailers(trailers, out);
  }
}

std::optional<CodecError> ClientCodecImpl::dispatch(buffer::Instance& data) {
  if (error_) {
    return error_;
  }
  if (data.length() == 0) {
    return std::nullopt;
  }
  if (upgraded_) {
    // A byte tunnel now: nothing is parsed.
    if (!tunnel_ended_) {
      callbacks_.onResponseData(data, false);
    }
    data.drain(data.length());
    return std::nullopt;
  }
  if (!awaiting_response_) {
    return fail("unexpected_data");
  }
  while (data.length() > 0) {
    MessageParser::Status status = parser_.execute(data);
    if (status == MessageParser::Status::kError) {
      keep_alive_ = false;
      error_ = parser_.error();
      return error_;
    }
    if (status == MessageParser::Status::kOk) {
      deliver(false);
      continue;
    }
    if (upgraded_) {
      // The 101's head, then whatever followed it in these bytes: the first tunnel bytes.
      headers_ready_ = false;
      ResponseHeaderMapPtr headers = std::move(headers_);
      callbacks_.onResponseHeaders(std::move(headers), false);
      if (data.length() > 0 && !tunnel_ended_) {
        callbacks_.onResponseData(data, false);
        data.drain(data.length());
      }
      return std::nullopt;
    }
    if (interim_) {
      // 100 Continue and the like: the final response follows, maybe in these very bytes.
      headers_ready_ = false;
      ResponseHeaderMapPtr headers = std::move(headers_);
      parser_.reset();
      callbacks_.onResponseHeaders(std::move(headers), false);
      continue;
    }
    awaiting_response_ = false;
    // Known before the callbacks, which may reset() this codec for the next request.
    const bool unexpected = data.length() > 0;
    if (unexpected) {
      fail("unexpected_data");
    }
    deliver(true);
    if (unexpected) {
      return CodecError{502, "unexpected_data"};
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<CodecError> ClientCodecImpl::onConnectionClose() {
  if (upgraded_) {
    if (!tunnel_ended_) {
      tunnel_ended_ = true;
      buffer::OwnedBuffer empty;
      callbacks_.onResponseData(empty, true);
    }
    return std::nullopt;
  }
  if (error_ || !awaiting_response_) {
    return std::nullopt;
  }
  awaiting_response_ = false;
  keep_alive_ = false;
  if (parser_.finish() == MessageParser::Status::kMessageComplete && !interim_) {
    deliver(true);
    return std::nullopt;
  }
  return fail("truncated");
}

void ClientCodecImpl::reset() {
  framing_ = Framing::kNoBody;
  head_request_ = false;
  awaiting_response_ = false;
  upgrade_requested_ = false;
  upgraded_ = false;
  tunnel_ended_ = false;
  resetResponse();
}

void ClientCodecImpl::resetResponse() {
  parser_.reset();
  headers_.reset();
  trailers_.reset();
  headers_ready_ = false;
  interim_ = false;
  end_at_headers_ = false;
  keep_alive_ = true;
}

void ClientCodecImpl::deliver(bool message_complete) {
  const bool end_at_headers = end_at_headers_;
  const bool has_trailers = trailers_ != nullptr;
  if (headers_ready_) {
    headers_ready_ = false;
    ResponseHeaderMapPtr headers = std::move(headers_);
    callbacks_.onResponseHeaders(std::move(headers), end_at_headers);
  }
  if (end_at_headers) {
    return;
  }
  buffer::OwnedBuffer& body = parser_.body();
  if (body.length() > 0 || (message_complete && !has_trailers)) {
    const bool last = message_complete && !has_trailers;
    callbacks_.onResponseData(body, last);
    if (last) {
      return;
    }
    // Whatever the callee left is not kept: bodies are streamed, never accumulated here.
    body.drain(body.length());
  }
  if (message_complete && has_trailers) {
    HeaderMapPtr trailers = std::move(trailers_);
    callbacks_.onResponseTrailers(std::move(trailers));
  }
}

CodecError ClientCodecImpl::fail(const char* reason) {
  keep_alive_ = false;
  error_ = CodecError{502, reason};
  return *error_;
}

HeaderMap& ClientCodecImpl::onMessageBegin() {
  headers_ = std::make_unique<ResponseHeaderMap>();
  trailers_.reset();
  headers_ready_ = false;
  interim_ = false;
  end_at_headers_ = false;
  return *headers_;
}

MessageParser::HeadersVerdict ClientCodecImpl::onHeadersComplete() {
  ResponseHeaderMap& headers = *headers_;
  const int status = parser_.statusCode();
  const bool http10 = parser_.httpMinor() == 0;
  headers.setStatus(status);
  headers.setVersion(http10 ? 10 : 11);

  if (parser_.hasTransferEncoding()) {
    std::optional<std::string_view> coding = headers.get("transfer-encoding");
    // HTTP/1.0 has no chunked coding: RFC 9112 §6.1 calls such framing faulty.
    if (!parser_.chunked() || http10 || headers.count("transfer-encoding") != 1 || !coding ||
        !headerNameEquals(trim(*coding), "chunked")) {
      return {CodecError{502, "bad_transfer_encoding"}, false};
    }
  }

  if (status == 101) {
    if (!upgrade_requested_ || http10) {
      return {CodecError{502, "unexpected_upgrade"}, false};
    }
    // Not a message llhttp goes on parsing: it completes with the head, and dispatch()
    // hands what follows over as it is.
    upgraded_ = true;
    keep_alive_ = false;
    headers_ready_ = true;
    return {std::nullopt, true};
  }
  interim_ = status < 200;
  const bool skip_body = head_request_ || status < 200 || status == 204 || status == 304;
  end_at_headers_ = skip_body || (!parser_.chunked() && parser_.hasContentLength() &&
                                  parser_.contentLength() == 0);
  if (!interim_) {
    const bool close_delimited = !skip_body && !parser_.chunked() && !parser_.hasContentLength();
    const bool version_keeps = http10 ? parser_.connectionKeepAlive() : !parser_.connectionClose();
    keep_alive_ = version_keeps && !close_delimited && status != 101;
  }
  headers_ready_ = true;
  // llhttp reads a body after 204 or 304 when a Content-Length is present, and after HEAD
  // always: only this side knows the request.
  return {std::nullopt, skip_body};
}

HeaderMap& ClientCodecImpl::onTrailersBegin() {
  trailers_ = std::make_unique<HeaderMap>();
  return *trailers_;
}

}  // namespace proxy::http
