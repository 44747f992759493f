#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/event/dispatcher.h"
#include "api/event/timer.h"
#include "api/http/filter.h"
#include "api/log/logger.h"
#include "api/upstream/cluster.h"
#include "common/buffer/buffer_impl.h"
#include "common/http/connection_pool.h"
#include "common/http/pooled_connection.h"
#include "common/http/tunnel_registry.h"
#include "common/upstream/address_walk.h"

namespace proxy::filters::router {

// Immutable settings shared by every stream of one HTTP listener.
struct RouterConfig {
  // The upstream's response headers must arrive within this once the request is sent;
  // zero disables it.
  std::chrono::milliseconds response_timeout{60000};
  // Bytes queued toward the upstream before the client stops being read.
  uint32_t buffer_limit = 1024 * 1024;
  // For the line a timeout logs when it fires.
  std::string listener_name;
  log::Logger* logger = nullptr;
  // Where a stream finds its worker's connection pools; tests hand in their own.
  std::function<http::ConnectionPools&(event::Dispatcher&)> pools =
      http::ConnectionPools::forDispatcher;
  // Where a tunnel is registered with its cluster, so a reload that replaces the cluster
  // drains it; tests hand in their own.
  std::function<http::TunnelRegistry&(event::Dispatcher&)> tunnels =
      http::TunnelRegistry::forDispatcher;
};

using RouterConfigConstSharedPtr = std::shared_ptr<const RouterConfig>;

// A request body is kept for a possible retry only while it fits in this many bytes.
constexpr size_t kMaxRetainedBody = 64 * 1024;

// The terminal HTTP filter: forwards a routed request to an endpoint of its route's cluster
// over a pooled HTTP/1.1 connection and streams the response back (docs/behaviour.md §3, §4).
//
// The request goes out as it arrives: headers rewritten (Host, hop-by-hop headers,
// X-Forwarded-*), then body and trailers, with the client read-disabled while the upstream
// connection's write buffer is above its high watermark. The response comes back through the
// encoder filters, with the upstream read-disabled while the client's write buffer is above
// its high watermark. Failures before the response started become 502/504 local replies;
// after it, the client connection is reset. A reused connection that fails before any
// response byte (the upstream closed it while it sat idle) is retried once on a fresh
// connection when the request can be replayed. A new connection that fails to connect moves
// on to the host's next address (AddressWalk) within the cluster's connect timeout, the
// request (while replayable) sent again there. One per stream, on its worker.
//
// An upgrade request (UpgradeRequest: "Connection: upgrade", Upgrade, no body, not h2c)
// keeps those two headers. If the upstream answers 101, the 101 goes to the client and the
// stream becomes a byte tunnel on the same paths: the client's bytes arrive as decodeData()
// and go out raw, the upstream's come back as encodeData(), with the same watermarks both
// ways. Each side's FIN is passed to the other (half-close); the stream ends when both
// directions have, or at once (the client connection closed after a flush) when the
// upstream connection closed outright. The upstream connection is never pooled again.
// From the upgrade request until the stream ends (or a final answer other than 101), the
// stream is in its worker's TunnelRegistry under the client connection, with its cluster: a
// tunnel never routes again, so a reload that replaces or removes that cluster drains the
// connection (docs/behaviour.md §7), even when the 101 was still on its way.
class RouterFilter final : public http::StreamDecoderFilter,
                           public http::DownstreamWatermarkCallbacks,
                           private http::PooledConnectionCallbacks {
 public:
  explicit RouterFilter(RouterConfigConstSharedPtr config);
  ~RouterFilter() override;

  // http::StreamDecoderFilter
  void setDecoderFilterCallbacks(http::StreamDecoderFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  http::FilterHeadersStatus decodeHeaders(http::RequestHeaderMap& headers,
                                          bool end_stream) override;
  http::FilterDataStatus decodeData(buffer::Instance& data, bool end_stream) override;
  http::FilterTrailersStatus decodeTrailers(http::HeaderMap& trailers) override;
  void onDestroy() override;

  // http::DownstreamWatermarkCallbacks
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

 private:
  // http::PooledConnectionCallbacks
  void onResponseHeaders(http::ResponseHeaderMapPtr headers, bool end_stream) override;
  void onResponseData(buffer::Instance& data, bool end_stream) override;
  void onResponseTrailers(http::HeaderMapPtr trailers) override;
  void onUpstreamFailure(http::UpstreamFailure failure, std::string_view reason) override;
  void onUpstreamAboveWriteBufferHighWatermark() override;
  void onUpstreamBelowWriteBufferLowWatermark() override;
  void onUpstreamResponseTimeout() override;

  // The host's count of active requests (least_request) no longer includes this one.
  void finishHostRequest();
  // One log line for a failed connect or handshake, with `reason` (strerror, OpenSSL's).
  void logUpstreamFailure(http::RequestFailure failure, std::string_view reason);
  // `server_name`: the cluster's tls.sni, the upstream Host unless the client's is kept.
  void rewriteRequestHeaders(http::RequestHeaderMap& headers, const upstream::Endpoint& endpoint,
                             bool preserve_host, std::string_view server_name);
  // A 101 to a tunnelable request: the stream becomes a byte tunnel (see startTunnel()).
  void startTunnel(http::ResponseHeaderMapPtr headers);
  // The upstream's side of the tunnel ended; `data` (empty) is passed on as the end.
  void endTunnelFromUpstream(buffer::Instance& data);
  // The stream may become a tunnel to cluster_: it enters the registry.
  void registerTunnel();
  // The stream ends, or will be no tunnel: it leaves the registry (if it is there).
  void unregisterTunnel();
  // pool_ becomes this worker's pool for `address` of host_ (with the cluster's TLS for an
  // https host).
  void usePool(const network::Address& address);
  // Takes a connection (a fresh one for a retry or the next address) and sends what the
  // request has so far. A new connection starts (or continues) the walk of host_'s addresses.
  void startUpstream(bool fresh);
  // A new connection failed to connect: whether the walk moved on to host_'s next address
  // (which the request, still replayable, is then sent to).
  bool canTryNextAddress(bool reused, http::UpstreamFailure failure);
  void armResponseTimer();
  void logTimeout(std::string_view name, std::chrono::milliseconds duration);
  // The response is complete: the connection goes back to the pool if it can be reused.
  void onUpstreamComplete();
  void releaseUpstream();
  // The request can no longer be replayed: the kept body is let go.
  void stopRetaining();
  bool canRetry(const http::PooledConnection& failed, http::UpstreamFailure failure) const;
  void setDownstreamReadDisabled(bool disable);
  // Answers with `code` and `body` if the response has not started, else resets the stream.
  void fail(http::RequestFailure failure, int code, std::string_view body);

  const RouterConfigConstSharedPtr config_;
  http::StreamDecoderFilterCallbacks* callbacks_ = nullptr;
  upstream::ClusterConstSharedPtr cluster_;
  upstream::HostSharedPtr host_;  // chosen by the cluster; hears connect outcomes
  bool host_request_active_ = false;
  http::ConnectionPool* pool_ = nullptr;
  http::PooledConnectionPtr upstream_;
  // host_'s addresses, walked while a new connection fails to connect (walking_).
  upstream::AddressWalk walk_;
  bool walking_ = false;

  // The request, kept for a retry: its headers and trailers live as long as the stream.
  http::RequestHeaderMap* request_headers_ = nullptr;
  http::HeaderMap* request_trailers_ = nullptr;
  buffer::OwnedBuffer retained_body_;
  bool body_started_ = false;
  bool request_complete_ = false;
  bool replayable_ = true;
  bool retried_ = false;

  bool response_started_ = false;  // final headers went to the client
  // The request asked to switch protocols (UpgradeRequest): its Upgrade is forwarded.
  bool upgrade_requested_ = false;
  // The upstream answered 101: both directions carry raw bytes until each side's FIN.
  bool tunnel_ = false;
  // Where the (possible) tunnel is registered, under tunnel_connection_id_, while it is.
  http::TunnelRegistry* tunnel_registry_ = nullptr;
  uint64_t tunnel_connection_id_ = 0;
  bool watermarks_registered_ = false;
  bool downstream_above_high_ = false;
  bool downstream_read_disabled_ = false;
  bool destroyed_ = false;
};

}  // namespace proxy::filters::router
