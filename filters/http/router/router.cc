#include "filters/http/router/router.h"

#include <charconv>
#include <string>
#include <vector>

#include "common/log/timeout_log.h"
#include "common/log/upstream_failure_log.h"

#include "api/network/connection.h"
#include "common/http/upgrade.h"

namespace proxy::filters::router {
namespace {

// Headers that describe one connection, not the message (RFC 9110 §7.6.1), removed in both
// directions. Transfer-Encoding is framing, redone by the codec of the other side; Upgrade
// is put back for an upgrade the proxy tunnels (RouterFilter::startTunnel()).
constexpr std::string_view kHopByHopHeaders[] = {"connection", "keep-alive", "proxy-connection",
                                                 "te",         "trailer",    "transfer-encoding",
                                                 "upgrade"};

// Whether `name` is one of kHopByHopHeaders; by length first, since every header of every
// message in both directions is asked.
bool isHopByHopName(std::string_view name) {
  switch (name.size()) {
    case 2:
    case 7:
    case 10:
    case 16:
    case 17:
      break;
    default:
      return false;
  }
  for (std::string_view hop : kHopByHopHeaders) {
    if (http::headerNameEquals(name, hop)) {
      return true;
    }
  }
  return false;
}

std::string_view trimWhitespace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// Removes the hop-by-hop headers and every header the Connection header names.
void removeHopByHopHeaders(http::HeaderMap& headers) {
  // Views into the map's arena stay valid after their entries are removed. The names a
  // Connection header lists are few: kept inline, the vector only past eight.
  std::string_view named_inline[8];
  size_t named_count = 0;
  std::vector<std::string_view> named_overflow;
  for (const http::HeaderMap::Entry& entry : headers.entries()) {
    if (!http::headerNameEquals(entry.name, "connection")) {
      continue;
    }
    std::string_view value = entry.value;
    while (!value.empty()) {
      const size_t comma = value.find(',');
      std::string_view token = trimWhitespace(value.substr(0, comma));
      // Host is never hop-by-hop, and without it the upstream request is invalid.
      if (!token.empty() && !http::headerNameEquals(token, "host")) {
        if (named_count < std::size(named_inline)) {
          named_inline[named_count++] = token;
        } else {
          named_overflow.push_back(token);
        }
      }
      value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    }
  }
  // One pass over the headers, not one per name.
  headers.removeIf([&](const http::HeaderMap::Entry& entry) {
    if (isHopByHopName(entry.name)) {
      return true;
    }
    for (size_t i = 0; i < named_count; ++i) {
      if (http::headerNameEquals(entry.name, named_inline[i])) {
        return true;
      }
    }
    for (std::string_view name : named_overflow) {
      if (http::headerNameEquals(entry.name, name)) {
        return true;
      }
    }
    return false;
  });
}

// "host:port" as a Host header, the port left out when it is the scheme's default.
// Valid until the next call on this thread: built in a per-thread string that keeps its
// capacity, so a long host name costs no allocation per request (it is copied into the
// headers' arena at once).
// `server_name` (a cluster's tls.sni), when set, stands for the endpoint's host.
std::string_view authorityOf(const upstream::Endpoint& endpoint, std::string_view server_name) {
  thread_local std::string authority;
  authority.clear();
  const std::string_view host = server_name.empty() ? endpoint.host : server_name;
  if (host.find(':') != std::string_view::npos) {
    authority.append("[").append(host).append("]");  // an IPv6 literal
  } else {
    authority.append(host);
  }
  const uint16_t default_port = endpoint.tls ? 443 : 80;
  if (endpoint.port != 0 && endpoint.port != default_port) {
    char port[8];
    const auto written = std::to_chars(port, port + sizeof(port), endpoint.port);
    authority.append(":").append(port, written.ptr);
  }
  return authority;
}

void appendCopy(const buffer::Instance& from, buffer::Instance& to) {
  std::vector<buffer::RawSlice> slices(from.getRawSlices(nullptr, 0));
  from.getRawSlices(slices.data(), slices.size());
  for (const buffer::RawSlice& slice : slices) {
    to.add(slice.mem, slice.len);
  }
}

}  // namespace

RouterFilter::RouterFilter(RouterConfigConstSharedPtr config) : config_(std::move(config)) {}

RouterFilter::~RouterFilter() {
  unregisterTunnel();
  // onDestroy() normally let go of it; a half-used connection is never pooled.
  if (upstream_ != nullptr) {
    releaseUpstream();
  }
  finishHostRequest();
}

http::FilterHeadersStatus RouterFilter::decodeHeaders(http::RequestHeaderMap& headers,
                                                      bool end_stream) {
  http::StreamInfo& info = callbacks_->streamInfo();
  const http::RouteConstSharedPtr& route = callbacks_->route();
  if (route == nullptr) {
    info.failure = http::RequestFailure::kNoRoute;
    callbacks_->sendLocalReply(404, "no route\n");
    return http::FilterHeadersStatus::kStopIteration;
  }
  cluster_ = route->cluster();
  upstream::HostChoice choice{nullptr, upstream::NoHostReason::kNoHealthyHost};
  if (cluster_ != nullptr) {
    info.cluster_name = cluster_->name();
    choice = cluster_->chooseHost();
  }
  if (choice.host == nullptr) {
    info.failure = http::RequestFailure::kNoHealthyEndpoint;
    callbacks_->sendLocalReply(503, choice.reason == upstream::NoHostReason::kUnresolved
                                        ? "no healthy upstream: name does not resolve\n"
                                        : "no healthy upstream\n");
    return http::FilterHeadersStatus::kStopIteration;
  }
  host_ = std::move(choice.host);
  // Read once: a DNS refresh may move the host while this request runs.
  const upstream::Endpoint chosen = host_->endpoint();
  const upstream::Endpoint* endpoint = &chosen;
  info.upstream_address = endpoint->address;
  // An https endpoint is reached only through its cluster's TLS context: never in clear.
  const network::TransportSocketFactoryConstSharedPtr* tls = nullptr;
  if (endpoint->tls) {
    tls = &cluster_->tlsContext();
    if (*tls == nullptr) {
      info.failure = http::RequestFailure::kUpstreamTlsError;
      callbacks_->sendLocalReply(502, "upstream TLS is not configured\n");
      return http::FilterHeadersStatus::kStopIteration;
    }
  }

  upgrade_requested_ = http::UpgradeRequest::tunnelable(headers, end_stream);
  if (upgrade_requested_) {
    registerTunnel();
  }
  rewriteRequestHeaders(headers, *endpoint, route->preserveHost(),
                        tls != nullptr ? (*tls)->serverName() : std::string_view());
  request_headers_ = &headers;
  request_complete_ = end_stream;
  callbacks_->addDownstreamWatermarkCallbacks(*this);
  watermarks_registered_ = true;
  usePool(endpoint->address);
  host_->onRequestStart();
  host_request_active_ = true;
  startUpstream(false);
  return http::FilterHeadersStatus::kStopIteration;
}

void RouterFilter::rewriteRequestHeaders(http::RequestHeaderMap& headers,
                                         const upstream::Endpoint& endpoint, bool preserve_host,
                                         std::string_view server_name) {
  // Read before anything is removed: what the client asked for.
  const std::optional<std::string_view> client_host = headers.get("host");
  const std::optional<std::string_view> upgrade = headers.get("upgrade");
  removeHopByHopHeaders(headers);
  if (upgrade_requested_) {
    // Only these two: other headers the Connection header names stay removed.
    headers.add("connection", "upgrade");
    headers.add("upgrade", *upgrade);
  }

  if (client_host) {
    headers.set("x-forwarded-host", *client_host);
  }
  if (!preserve_host || !client_host) {
    headers.set("host", authorityOf(endpoint, server_name));
  }
  headers.set("x-forwarded-proto", "http");

  network::Connection* downstream = callbacks_->connection();
  const std::string client_ip = downstream != nullptr ? downstream->remoteAddress().ip() : "";
  if (!client_ip.empty()) {
    // Several X-Forwarded-For lines are one list (RFC 9110 §5.3): joined, then appended to.
    std::string forwarded_for;
    for (const http::HeaderMap::Entry& entry : headers.entries()) {
      if (http::headerNameEquals(entry.name, "x-forwarded-for") && !entry.value.empty()) {
        forwarded_for.append(forwarded_for.empty() ? "" : ", ").append(entry.value);
      }
    }
    if (forwarded_for.empty()) {
      headers.set("x-forwarded-for", client_ip);  // the usual case: no list to extend
    } else {
      headers.set("x-forwarded-for", forwarded_for.append(", ").append(client_ip));
    }
  }
}

void RouterFilter::usePool(const network::Address& address) {
  http::ConnectionPools& pools = config_->pools(callbacks_->dispatcher());
  pool_ = host_->tls() ? &pools.get(address, cluster_->tlsContext(), host_->hostname())
                       : &pools.get(address);
}

void RouterFilter::startUpstream(bool fresh) {
  upstream_ = fresh ? pool_->create() : pool_->acquire();
  upstream_->attach(*this, config_->buffer_limit);
  if (downstream_above_high_) {
    upstream_->readDisable(true);
  }

  // What the request has so far: everything, on a retry.
  const bool headers_only = !body_started_ && request_trailers_ == nullptr;
  upstream_->encodeHeaders(*request_headers_, headers_only && request_complete_);
  if (body_started_) {
    buffer::OwnedBuffer body;
    appendCopy(retained_body_, body);
    upstream_->encodeData(body, request_complete_ && request_trailers_ == nullptr);
  }
  if (request_trailers_ != nullptr) {
    upstream_->encodeTrailers(*request_trailers_);
  }

  if (!upstream_->connected()) {
    const auto now = std::chrono::steady_clock::now();
    if (!walking_) {
      // A new connection: its host's addresses are walked if this one fails.
      walking_ = true;
      walk_.start(*host_, pool_->address(), now, cluster_->connectTimeout());
    }
    // Sent once connected. Some connections report a failure from inside connect().
    upstream_->connect(walk_.tryTimeout(now));
    if (upstream_ == nullptr) {
      return;
    }
  }
  if (request_complete_) {
    armResponseTimer();
  }
}

http::FilterDataStatus RouterFilter::decodeData(buffer::Instance& data, bool end_stream) {
  if (upstream_ == nullptr) {
    // Answered already (an early response, or a failure): the rest goes nowhere.
    data.drain(data.length());
    return http::FilterDataStatus::kStopIteration;
  }
  body_started_ = true;
  request_complete_ = end_stream;
  if (replayable_) {
    if (retained_body_.length() + data.length() <= kMaxRetainedBody) {
      appendCopy(data, retained_body_);
    } else {
      stopRetaining();
    }
  }
  upstream_->encodeData(data, end_stream);
  if (end_stream) {
    armResponseTimer();
  }
  return http::FilterDataStatus::kStopIteration;
}

http::FilterTrailersStatus RouterFilter::decodeTrailers(http::HeaderMap& trailers) {
  if (upstream_ == nullptr) {
    return http::FilterTrailersStatus::kStopIteration;
  }
  request_trailers_ = &trailers;
  request_complete_ = true;
  upstream_->encodeTrailers(trailers);
  armResponseTimer();
  return http::FilterTrailersStatus::kStopIteration;
}

void RouterFilter::armResponseTimer() {
  if (config_->response_timeout.count() == 0 || response_started_ || upstream_ == nullptr) {
    return;
  }
  // The connection's timer: a reused connection re-arms the one it has.
  upstream_->armResponseTimer(config_->response_timeout);
}

void RouterFilter::onUpstreamResponseTimeout() {
  logTimeout("response_timeout", config_->response_timeout);
  if (upstream_ != nullptr) {
    releaseUpstream();  // unfinished: closed
  }
  fail(http::RequestFailure::kUpstreamResponseTimeout, 504, "upstream response timeout\n");
}

void RouterFilter::onResponseHeaders(http::ResponseHeaderMapPtr headers, bool end_stream) {
  // The upstream answered: the request will not be sent again, and the host is reachable.
  stopRetaining();
  host_->onConnectSuccess();
  if (walking_) {
    walking_ = false;
    if (walk_.moved()) {
      host_->onAddressConnected(walk_.current());  // new connections start there
    }
  }
  if (headers->status() == 101 && !end_stream) {
    startTunnel(std::move(headers));
    return;
  }
  removeHopByHopHeaders(*headers);
  if (headers->status() < 200 && !end_stream) {
    callbacks_->encode1xxHeaders(std::move(headers));
    return;
  }
  unregisterTunnel();  // an upgrade refused: an ordinary exchange
  upstream_->disarmResponseTimer();
  response_started_ = true;
  callbacks_->streamInfo().response_code = headers->status();
  callbacks_->encodeHeaders(std::move(headers), end_stream);
  if (end_stream) {
    onUpstreamComplete();
  }
}

void RouterFilter::startTunnel(http::ResponseHeaderMapPtr headers) {
  // The codec lets a 101 through only for a tunnelable request, so upgrade_requested_ holds.
  const std::optional<std::string_view> upgrade = headers->get("upgrade");
  removeHopByHopHeaders(*headers);
  headers->add("connection", "upgrade");
  headers->add("upgrade", upgrade ? *upgrade : *request_headers_->get("upgrade"));
  upstream_->disarmResponseTimer();
  tunnel_ = true;
  response_started_ = true;
  callbacks_->streamInfo().response_code = 101;
  callbacks_->encodeHeaders(std::move(headers), false);
}

void RouterFilter::registerTunnel() {
  if (network::Connection* client = callbacks_->connection(); client != nullptr) {
    tunnel_registry_ = &config_->tunnels(callbacks_->dispatcher());
    tunnel_connection_id_ = client->id();
    tunnel_registry_->add(tunnel_connection_id_, cluster_);
  }
}

void RouterFilter::unregisterTunnel() {
  if (tunnel_registry_ != nullptr) {
    tunnel_registry_->remove(tunnel_connection_id_);
    tunnel_registry_ = nullptr;
  }
}

void RouterFilter::endTunnelFromUpstream(buffer::Instance& data) {
  // Known before the client hears the end, which may end the stream and release upstream_.
  const bool upstream_closed = upstream_->connection().state() != network::ConnectionState::kOpen;
  callbacks_->encodeData(data, true);
  if (upstream_closed && !destroyed_) {
    // Nothing the client still sends can reach the upstream: the tunnel is over. The
    // response is complete, so this is no failure; the client gets what is queued first.
    callbacks_->resetStream();
  }
}

void RouterFilter::onResponseData(buffer::Instance& data, bool end_stream) {
  if (tunnel_ && end_stream) {
    endTunnelFromUpstream(data);
    return;
  }
  // Passed on before the connection is released: `data` belongs to its codec.
  callbacks_->encodeData(data, end_stream);
  if (end_stream) {
    onUpstreamComplete();
  }
}

void RouterFilter::onResponseTrailers(http::HeaderMapPtr trailers) {
  callbacks_->encodeTrailers(std::move(trailers));
  onUpstreamComplete();
}

void RouterFilter::onUpstreamComplete() {
  // The client's side may have ended the stream (and released the connection) already.
  if (upstream_ != nullptr) {
    releaseUpstream();
  }
  finishHostRequest();
}

void RouterFilter::finishHostRequest() {
  if (host_request_active_) {
    host_request_active_ = false;
    host_->onRequestEnd();
  }
}

void RouterFilter::releaseUpstream() {
  // Released, the connection disarms its response timer.
  pool_->release(std::move(upstream_));
}

void RouterFilter::stopRetaining() {
  replayable_ = false;
  retained_body_.drain(retained_body_.length());
}

bool RouterFilter::canRetry(const http::PooledConnection& failed,
                            http::UpstreamFailure failure) const {
  // Only the keep-alive race: a reused connection the upstream closed before answering.
  return failure == http::UpstreamFailure::kReset && failed.reused() && !failed.responseStarted() &&
         !retried_ && replayable_ && !response_started_ && !destroyed_;
}

bool RouterFilter::canTryNextAddress(bool reused, http::UpstreamFailure failure) {
  switch (failure) {
    case http::UpstreamFailure::kConnectRefused:
    case http::UpstreamFailure::kConnectTimeout:
    case http::UpstreamFailure::kConnectError:
      break;
    default:
      return false;  // connected: the address works
  }
  // Only a connection this stream made; its request must still be replayable in full.
  return walking_ && !reused && replayable_ && !response_started_ && !destroyed_ &&
         walk_.advance(std::chrono::steady_clock::now());
}

void RouterFilter::onUpstreamFailure(http::UpstreamFailure failure, std::string_view reason) {
  const bool retry = canRetry(*upstream_, failure);
  const bool reused = upstream_->reused();
  releaseUpstream();  // already closed: destroyed after this event
  if (canTryNextAddress(reused, failure)) {
    callbacks_->streamInfo().upstream_address = walk_.current();
    usePool(walk_.current());
    setDownstreamReadDisabled(false);  // the fresh connection's write buffer is empty
    startUpstream(true);
    return;
  }
  walking_ = false;
  if (retry) {
    retried_ = true;
    // The fresh connection's write buffer is empty.
    setDownstreamReadDisabled(false);
    startUpstream(true);
    return;
  }
  switch (failure) {
    case http::UpstreamFailure::kConnectRefused:
    case http::UpstreamFailure::kConnectTimeout:
    case http::UpstreamFailure::kConnectError:
    case http::UpstreamFailure::kTlsError:
      // Passive health: enough of these in a row eject the host (a connect failure counts
      // once every address of the name failed). A failed handshake counts: the host is
      // unusable over TLS.
      host_->onConnectFailure();
      break;
    case http::UpstreamFailure::kLocalResourceExhausted:
    case http::UpstreamFailure::kReset:
    case http::UpstreamFailure::kProtocolError:
      break;
  }
  switch (failure) {
    case http::UpstreamFailure::kConnectRefused:
      logUpstreamFailure(http::RequestFailure::kUpstreamConnectRefused, reason);
      fail(http::RequestFailure::kUpstreamConnectRefused, 502, "upstream connection refused\n");
      return;
    case http::UpstreamFailure::kConnectTimeout:
      logTimeout("connect_timeout", cluster_->connectTimeout());
      fail(http::RequestFailure::kUpstreamConnectTimeout, 504, "upstream connect timeout\n");
      return;
    case http::UpstreamFailure::kConnectError:
      logUpstreamFailure(http::RequestFailure::kUpstreamConnectError, reason);
      fail(http::RequestFailure::kUpstreamConnectError, 502, "upstream connect error\n");
      return;
    case http::UpstreamFailure::kTlsError:
      logUpstreamFailure(http::RequestFailure::kUpstreamTlsError, reason);
      fail(http::RequestFailure::kUpstreamTlsError, 502, "upstream TLS handshake failed\n");
      return;
    case http::UpstreamFailure::kLocalResourceExhausted:
      // The proxy, not the upstream, is out of descriptors: 503 as for any overload.
      logUpstreamFailure(http::RequestFailure::kLocalResourceExhausted, reason);
      fail(http::RequestFailure::kLocalResourceExhausted, 503, "proxy out of resources\n");
      return;
    case http::UpstreamFailure::kReset:
      fail(http::RequestFailure::kUpstreamReset, 502, "upstream reset before response\n");
      return;
    case http::UpstreamFailure::kProtocolError:
      fail(http::RequestFailure::kUpstreamProtocolError, 502, "invalid upstream response\n");
      return;
  }
}

void RouterFilter::logTimeout(std::string_view name, std::chrono::milliseconds duration) {
  network::Connection* connection = callbacks_->connection();
  if (config_->logger != nullptr && connection != nullptr) {
    log::logTimeout(*config_->logger, name, duration, config_->listener_name,
                    connection->remoteAddress());
  }
}

void RouterFilter::logUpstreamFailure(http::RequestFailure failure, std::string_view reason) {
  if (config_->logger != nullptr) {
    log::logUpstreamFailure(*config_->logger, http::requestFailureName(failure),
                            config_->listener_name, cluster_->name(),
                            callbacks_->streamInfo().upstream_address, reason);
  }
}

void RouterFilter::fail(http::RequestFailure failure, int code, std::string_view body) {
  finishHostRequest();
  if (destroyed_) {
    return;
  }
  callbacks_->streamInfo().failure = failure;
  if (response_started_) {
    // Too late for a status: the client sees the connection close instead of a short body.
    callbacks_->resetStream();
    return;
  }
  callbacks_->sendLocalReply(code, body);
}

void RouterFilter::onUpstreamAboveWriteBufferHighWatermark() { setDownstreamReadDisabled(true); }

void RouterFilter::onUpstreamBelowWriteBufferLowWatermark() { setDownstreamReadDisabled(false); }

void RouterFilter::setDownstreamReadDisabled(bool disable) {
  if (disable == downstream_read_disabled_ || destroyed_) {
    return;
  }
  downstream_read_disabled_ = disable;
  callbacks_->readDisableDownstream(disable);
}

void RouterFilter::onAboveWriteBufferHighWatermark() {
  // The client reads slower than the upstream sends: stop reading the upstream.
  downstream_above_high_ = true;
  if (upstream_ != nullptr) {
    upstream_->readDisable(true);
  }
}

void RouterFilter::onBelowWriteBufferLowWatermark() {
  downstream_above_high_ = false;
  if (upstream_ != nullptr) {
    upstream_->readDisable(false);
  }
}

void RouterFilter::onDestroy() {
  if (destroyed_) {
    return;
  }
  destroyed_ = true;
  unregisterTunnel();
  if (watermarks_registered_) {
    watermarks_registered_ = false;
    callbacks_->removeDownstreamWatermarkCallbacks(*this);
  }
  if (upstream_ != nullptr) {
    releaseUpstream();  // closed unless the exchange finished cleanly
  }
  stopRetaining();
  finishHostRequest();
}

}  // namespace proxy::filters::router
