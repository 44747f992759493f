#include "common/access_log/access_log_formatter.h"

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>

namespace proxy::access_log {
namespace {

using Clock = std::chrono::steady_clock;

// "2026-01-02T03:04:05.678Z"
std::string isoTime(std::chrono::system_clock::time_point time) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[96];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return text;
}

// Milliseconds with microsecond precision: "12.345".
std::string milliseconds(Clock::duration duration) {
  int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
  if (us < 0) {
    us = 0;
  }
  char text[32];
  std::snprintf(text, sizeof(text), "%lld.%03lld", static_cast<long long>(us / 1000),
                static_cast<long long>(us % 1000));
  return text;
}

bool needsQuoting(std::string_view value) {
  for (unsigned char c : value) {
    if (c <= ' ' || c == '"' || c == '\\' || c == 0x7f) {
      return true;
    }
  }
  return false;
}

// Inside text quotes: `"` and `\` escaped with a backslash, control bytes as \xHH.
void appendTextEscaped(std::string& out, std::string_view value) {
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < ' ' || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02X", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
}

void appendTextField(std::string& out, std::string_view value) {
  out += ' ';
  if (value.empty()) {
    out += '-';
  } else if (needsQuoting(value)) {
    out += '"';
    appendTextEscaped(out, value);
    out += '"';
  } else {
    out += value;
  }
}

// The length of the valid UTF-8 sequence starting at `i`, or 0 when it is not one.
size_t utf8SequenceLength(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t length = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
  if (length == 0 || i + length > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) {
      return 0;
    }
  }
  return length;
}

// A JSON string: quotes, backslashes and control bytes escaped; bytes that are not valid
// UTF-8 become U+FFFD so every line parses.
void appendJsonString(std::string& out, std::string_view value) {
  out += '"';
  for (size_t i = 0; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\u%04x", c);
      out += hex;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (size_t length = utf8SequenceLength(value, i); length != 0) {
      out.append(value.substr(i, length));
      i += length - 1;
    } else {
      out += "\\ufffd";
    }
  }
  out += '"';
}

// The fields common to both kinds of line, in text order.
struct Fields {
  std::string time;
  std::string_view type;
  std::string_view listener;
  std::string client;
  RequestLine request;
  std::optional<int> status;
  std::string_view route;
  std::string_view cluster;
  std::string upstream;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  std::string duration_ms;
  std::optional<std::string> upstream_headers_ms;
  std::string failure;
};

std::string formatText(const Fields& f, bool tcp) {
  std::string out = f.time;
  appendTextField(out, f.listener);
  appendTextField(out, f.client);
  out += " \"";
  if (tcp) {
    out += "TCP";
  } else if (f.request.method.empty()) {
    out += '-';
  } else {
    appendTextEscaped(out, f.request.method);
    out += ' ';
    appendTextEscaped(out, f.request.path);
    out += ' ';
    appendTextEscaped(out, f.request.protocol);
  }
  out += '"';
  appendTextField(out, f.status ? std::to_string(*f.status) : std::string());
  appendTextField(out, f.route);
  appendTextField(out, f.cluster);
  appendTextField(out, f.upstream);
  out += ' ' + std::to_string(f.bytes_received) + ' ' + std::to_string(f.bytes_sent);
  out += ' ' + f.duration_ms;
  appendTextField(out, f.upstream_headers_ms ? *f.upstream_headers_ms : std::string());
  appendTextField(out, f.failure);
  return out;
}

std::string formatJson(const Fields& f) {
  std::string out = "{\"time\":";
  appendJsonString(out, f.time);
  out += ",\"type\":";
  appendJsonString(out, f.type);
  out += ",\"listener\":";
  appendJsonString(out, f.listener);
  out += ",\"client\":";
  appendJsonString(out, f.client);
  out += ",\"method\":";
  appendJsonString(out, f.request.method);
  out += ",\"path\":";
  appendJsonString(out, f.request.path);
  out += ",\"protocol\":";
  appendJsonString(out, f.request.protocol);
  out += ",\"status\":" + (f.status ? std::to_string(*f.status) : std::string("null"));
  out += ",\"route\":";
  appendJsonString(out, f.route);
  out += ",\"cluster\":";
  appendJsonString(out, f.cluster);
  out += ",\"upstream\":";
  appendJsonString(out, f.upstream);
  out += ",\"bytes_received\":" + std::to_string(f.bytes_received);
  out += ",\"bytes_sent\":" + std::to_string(f.bytes_sent);
  out += ",\"duration_ms\":" + f.duration_ms;
  out += ",\"upstream_headers_ms\":" + (f.upstream_headers_ms ? *f.upstream_headers_ms : "null");
  out += ",\"failure\":";
  appendJsonString(out, f.failure);
  out += '}';
  return out;
}

std::string addressOrEmpty(const network::Address& address) {
  return address.valid() ? address.asString() : std::string();
}

}  // namespace

std::string AccessLogFormatter::failureName(const http::StreamInfo& info) {
  if (info.failure == http::RequestFailure::kNone) {
    return "";
  }
  std::string name = http::requestFailureName(info.failure);
  if (info.failure == http::RequestFailure::kRequestRejected && !info.rejection.empty()) {
    name += ":" + info.rejection;
  }
  return name;
}

std::string AccessLogFormatter::failureName(const network::ConnectionInfo& info) {
  return info.failure == network::FailureCause::kNone ? ""
                                                      : network::failureCauseName(info.failure);
}

std::string AccessLogFormatter::format(std::string_view listener, const network::Address& client,
                                       const RequestLine& request, const http::StreamInfo& info,
                                       Clock::time_point end,
                                       std::chrono::system_clock::time_point wall_end) const {
  Fields f;
  f.time = isoTime(wall_end - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                  end - info.start_time));
  f.type = "http";
  f.listener = listener;
  f.client = addressOrEmpty(client);
  f.request = request;
  if (info.response_code != 0) {
    f.status = info.response_code;
  }
  f.route = info.route_name;
  f.cluster = info.cluster_name;
  f.upstream = addressOrEmpty(info.upstream_address);
  f.bytes_received = info.request_body_bytes;
  f.bytes_sent = info.response_body_bytes;
  f.duration_ms = milliseconds(end - info.start_time);
  if (info.response_headers_time != Clock::time_point{}) {
    f.upstream_headers_ms = milliseconds(info.response_headers_time - info.start_time);
  }
  f.failure = failureName(info);
  return format_ == AccessLogFormat::kJson ? formatJson(f) : formatText(f, false);
}

std::string AccessLogFormatter::format(std::string_view listener, const network::Address& client,
                                       const network::ConnectionInfo& info, Clock::time_point end,
                                       std::chrono::system_clock::time_point wall_end) const {
  Fields f;
  f.time = isoTime(wall_end - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                  end - info.start_time));
  f.type = "tcp";
  f.listener = listener;
  f.client = addressOrEmpty(client);
  f.request.protocol = "TCP";
  f.cluster = info.upstream_cluster;
  f.upstream = addressOrEmpty(info.upstream_address);
  f.bytes_received = info.bytes_received;
  f.bytes_sent = info.bytes_sent;
  f.duration_ms = milliseconds(end - info.start_time);
  f.failure = failureName(info);
  return format_ == AccessLogFormat::kJson ? formatJson(f) : formatText(f, true);
}

}  // namespace proxy::access_log
