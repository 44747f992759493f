#include "common/http/message_writer.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>
#include <string>
#include <typeinfo>

#include "common/buffer/buffer_impl.h"

namespace proxy::http {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kSeparator = ": ";

bool isFraming(std::string_view name) { return headerNameEquals(name, "transfer-encoding"); }

bool isLeftOut(std::string_view name, bool drop_content_length) {
  return isFraming(name) || (drop_content_length && headerNameEquals(name, "content-length"));
}

// Fields a trailer section must not carry (RFC 9110 §6.5.1): they frame, route or qualify
// the message and only mean something in its head; a recipient could misread them as
// such. A short list of the ones that matter to an HTTP/1.1 hop.
constexpr std::string_view kForbiddenTrailers[] = {
    "content-length",
    "transfer-encoding",
    "trailer",
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "upgrade",
    "expect",
    "content-encoding",
    "content-type",
    "content-range",
    "authorization",
    "proxy-authorization",
    "cache-control",
};

bool isForbiddenTrailer(std::string_view name) {
  for (std::string_view forbidden : kForbiddenTrailers) {
    if (headerNameEquals(name, forbidden)) {
      return true;
    }
  }
  return false;
}

char* put(char* at, std::string_view bytes) {
  // An empty value's view may hold nullptr (HeaderMap::store), which memcpy must not get
  // even for zero bytes.
  if (bytes.empty()) {
    return at;
  }
  std::memcpy(at, bytes.data(), bytes.size());
  return at + bytes.size();
}

}  // namespace

void MessageWriter::writeHead(std::initializer_list<std::string_view> start_line,
                              const HeaderMap& headers, std::span<const ExtraHeader> extras,
                              buffer::Instance& out, bool drop_content_length) {
  size_t size = kCrlf.size() * 2;
  for (std::string_view part : start_line) {
    size += part.size() + 1;
  }
  size -= start_line.size() > 0 ? 1 : 0;
  for (const HeaderMap::Entry& entry : headers.entries()) {
    if (!isLeftOut(entry.name, drop_content_length)) {
      size += entry.name.size() + kSeparator.size() + entry.value.size() + kCrlf.size();
    }
  }
  for (const ExtraHeader& extra : extras) {
    size += extra.name.size() + kSeparator.size() + extra.value.size() + kCrlf.size();
  }

  // Straight into the buffer's tail when we know the buffer; else through one string.
  // OwnedBuffer is final: comparing the type is cheaper than a dynamic_cast.
  auto* owned = typeid(out) == typeid(buffer::OwnedBuffer) ? static_cast<buffer::OwnedBuffer*>(&out)
                                                           : nullptr;
  std::string fallback;
  char* begin;
  if (owned != nullptr) {
    begin = static_cast<char*>(owned->reserve(size).iov_base);
  } else {
    fallback.resize(size);
    begin = fallback.data();
  }

  char* at = begin;
  bool first = true;
  for (std::string_view part : start_line) {
    if (!first) {
      *at++ = ' ';
    }
    first = false;
    at = put(at, part);
  }
  at = put(at, kCrlf);
  for (const HeaderMap::Entry& entry : headers.entries()) {
    if (!isLeftOut(entry.name, drop_content_length)) {
      at = put(put(put(put(at, entry.name), kSeparator), entry.value), kCrlf);
    }
  }
  for (const ExtraHeader& extra : extras) {
    at = put(put(put(put(at, extra.name), kSeparator), extra.value), kCrlf);
  }
  put(at, kCrlf);

  if (owned != nullptr) {
    owned->commit(size);
  } else {
    out.add(fallback);
  }
}

void MessageWriter::writeResponseHead(int status, const HeaderMap& headers,
                                      std::span<const ExtraHeader> extras, buffer::Instance& out) {
  char code[16];
  auto result = std::to_chars(code, code + sizeof(code), status);
  writeHead({"HTTP/1.1", std::string_view(code, static_cast<size_t>(result.ptr - code)),
             reasonPhrase(status)},
            headers, extras, out, status < 200 || status == 204);
}

void MessageWriter::writeChunk(buffer::Instance& data, buffer::Instance& out) {
  if (data.length() == 0) {
    return;
  }
  char header[24];
  auto result = std::to_chars(header, header + 16, data.length(), 16);
  char* end = put(result.ptr, kCrlf);
  out.add(header, static_cast<size_t>(end - header));
  out.move(data);
  out.add(kCrlf);
}

void MessageWriter::writeLastChunk(buffer::Instance& out) { out.add("0\r\n\r\n"); }

void MessageWriter::writeTrailers(const HeaderMap& trailers, buffer::Instance& out) {
  bool clean = true;
  for (const HeaderMap::Entry& entry : trailers.entries()) {
    clean = clean && !isForbiddenTrailer(entry.name);
  }
  if (clean) {
    writeHead({"0"}, trailers, {}, out);
    return;
  }
  HeaderMap allowed;
  for (const HeaderMap::Entry& entry : trailers.entries()) {
    if (!isForbiddenTrailer(entry.name)) {
      allowed.add(entry.name, entry.value);
    }
  }
  writeHead({"0"}, allowed, {}, out);
}

std::string_view MessageWriter::reasonPhrase(int status) {
  struct Phrase {
    int status;
    std::string_view text;
  };
  // Sorted by status.
  static constexpr Phrase kPhrases[] = {
      {100, "Continue"},
      {101, "Switching Protocols"},
      {102, "Processing"},
      {103, "Early Hints"},
      {200, "OK"},
      {201, "Created"},
      {202, "Accepted"},
      {203, "Non-Authoritative Information"},
      {204, "No Content"},
      {205, "Reset Content"},
      {206, "Partial Content"},
      {207, "Multi-Status"},
      {208, "Already Reported"},
      {226, "IM Used"},
      {300, "Multiple Choices"},
      {301, "Moved Permanently"},
      {302, "Found"},
      {303, "See Other"},
      {304, "Not Modified"},
      {305, "Use Proxy"},
      {307, "Temporary Redirect"},
      {308, "Permanent Redirect"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {402, "Payment Required"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {406, "Not Acceptable"},
      {407, "Proxy Authentication Required"},
      {408, "Request Timeout"},
      {409, "Conflict"},
      {410, "Gone"},
      {411, "Length Required"},
      {412, "Precondition Failed"},
      {413, "Content Too Large"},
      {414, "URI Too Long"},
      {415, "Unsupported Media Type"},
      {416, "Range Not Satisfiable"},
      {417, "Expectation Failed"},
      {421, "Misdirected Request"},
      {422, "Unprocessable Content"},
      {423, "Locked"},
      {424, "Failed Dependency"},
      {425, "Too Early"},
      {426, "Upgrade Required"},
      {428, "Precondition Required"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {451, "Unavailable For Legal Reasons"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
      {505, "HTTP Version Not Supported"},
      {506, "Variant Also Negotiates"},
      {507, "Insufficient Storage"},
      {508, "Loop Detected"},
      {510, "Not Extended"},
      {511, "Network Authentication Required"},
  };
  const Phrase* found =
      std::lower_bound(std::begin(kPhrases), std::end(kPhrases), status,
                       [](const Phrase& phrase, int wanted) { return phrase.status < wanted; });
  if (found != std::end(kPhrases) && found->status == status) {
    return found->text;
  }
  return "Unknown";
}

bool MessageWriter::hasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
      item.remove_prefix(1);
    }
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
      item.remove_suffix(1);
    }
    if (headerNameEquals(item, token)) {
      return true;
    }
  }
  return false;
}

}  // namespace proxy::http
