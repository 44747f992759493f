#pragma once

#include <string>
#include <vector>

#include "api/buffer/buffer.h"
#include "api/http/header_map.h"
#include "common/buffer/buffer_impl.h"
#include "common/http/codec.h"
#include "test/fuzz/fuzz_input.h"

namespace proxy::fuzz {

// Reads every part of a header map, so ASan sees any view into freed or foreign memory.
inline size_t touch(const http::HeaderMap& map) {
  size_t sum = 0;
  for (const http::HeaderMap::Entry& entry : map.entries()) {
    for (char c : entry.name) {
      sum += static_cast<unsigned char>(c);
    }
    for (char c : entry.value) {
      sum += static_cast<unsigned char>(c);
    }
  }
  return sum;
}

// Collects one request at a time from a server codec, as the connection manager would,
// checking the order of the callbacks.
class RequestCollector : public http::ServerCodecCallbacks {
 public:
  // http::ServerCodecCallbacks
  void onRequestHeaders(http::RequestHeaderMapPtr headers, bool end_stream) override {
    FUZZ_CHECK(headers_ == nullptr);
    FUZZ_CHECK(headers->version() == 10 || headers->version() == 11);
    checksum_ += touch(*headers) + headers->method().size() + headers->path().size();
    headers_ = std::move(headers);
    complete_ = end_stream;
  }
  void onRequestData(buffer::Instance& data, bool end_stream) override {
    FUZZ_CHECK(headers_ != nullptr && !complete_);
    body_.move(data);
    complete_ = end_stream;
  }
  void onRequestTrailers(http::HeaderMapPtr trailers) override {
    FUZZ_CHECK(headers_ != nullptr && !complete_ && trailers_ == nullptr);
    checksum_ += touch(*trailers);
    trailers_ = std::move(trailers);
    complete_ = true;
  }

  bool complete() const { return complete_; }
  const http::RequestHeaderMap* headers() const { return headers_.get(); }
  const http::HeaderMap* trailers() const { return trailers_.get(); }
  std::string body() const { return body_.toString(); }
  void clear() {
    headers_.reset();
    trailers_.reset();
    body_.drain(body_.length());
    complete_ = false;
  }

 private:
  http::RequestHeaderMapPtr headers_;
  http::HeaderMapPtr trailers_;
  buffer::OwnedBuffer body_;
  bool complete_ = false;
  size_t checksum_ = 0;
};

// Collects the responses to one request from a client codec: any interim ones, then the
// final one.
class ResponseCollector : public http::ClientCodecCallbacks {
 public:
  // http::ClientCodecCallbacks
  void onResponseHeaders(http::ResponseHeaderMapPtr headers, bool end_stream) override {
    FUZZ_CHECK(!complete_ && final_ == nullptr);
    FUZZ_CHECK(headers->status() >= 100 && headers->status() <= 599);
    checksum_ += touch(*headers);
    // 101 ends the exchange; other 1xx are interim and never end it.
    if (headers->status() < 200 && headers->status() != 101) {
      FUZZ_CHECK(!end_stream);
      interim_.push_back(std::move(headers));
      return;
    }
    final_ = std::move(headers);
    complete_ = end_stream;
  }
  void onResponseData(buffer::Instance& data, bool end_stream) override {
    FUZZ_CHECK(final_ != nullptr && !complete_);
    body_.move(data);
    complete_ = end_stream;
  }
  void onResponseTrailers(http::HeaderMapPtr trailers) override {
    FUZZ_CHECK(final_ != nullptr && !complete_ && trailers_ == nullptr);
    checksum_ += touch(*trailers);
    trailers_ = std::move(trailers);
    complete_ = true;
  }

  bool complete() const { return complete_; }
  const std::vector<http::ResponseHeaderMapPtr>& interim() const { return interim_; }
  const http::ResponseHeaderMap* finalResponse() const { return final_.get(); }
  const http::HeaderMap* trailers() const { return trailers_.get(); }
  std::string body() const { return body_.toString(); }
  void clear() {
    interim_.clear();
    final_.reset();
    trailers_.reset();
    body_.drain(body_.length());
    complete_ = false;
  }

 private:
  std::vector<http::ResponseHeaderMapPtr> interim_;
  http::ResponseHeaderMapPtr final_;
  http::HeaderMapPtr trailers_;
  buffer::OwnedBuffer body_;
  bool complete_ = false;
  size_t checksum_ = 0;
};

// Limits that a re-serialized message stays within whatever the original's were: writing
// can add a few bytes per header ("X:v" becomes "X: v").
inline http::CodecLimits generousLimits() { return http::CodecLimits{1u << 22, 100000, 1u << 22}; }

}  // namespace proxy::fuzz
