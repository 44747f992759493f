#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace proxy::network {

// What one read or write through a transport socket did.
struct IoResult {
  enum class Status {
    kOk,           // `bytes` (> 0) were read or written
    kAgain,        // nothing now: wait for the socket's next readiness edge
    kEndOfStream,  // read only: the peer ended its side (FIN, or TLS close_notify)
    kError,        // the connection is broken: close it, `error` says why
  };
  Status status = Status::kAgain;
  size_t bytes = 0;
  std::string_view error;  // with kError, a short word for logs ("connection_reset")
};

// How the handshake of a transport socket stands.
enum class HandshakeStatus {
  kDone,    // established: application bytes may flow
  kAgain,   // waiting for the socket: call handshake() again on its next readiness event
  kFailed,  // failed for good: failureReason() says why; close the connection
};

// How a connection moves bytes over its socket: plain TCP (the raw socket) or TLS. The
// connection keeps its buffers, watermarks and readiness handling, and asks its transport
// socket to read into and write from its buffers' memory, so no layer adds a copy.
//
// Owned by one connection and used on its worker only. Every method is non-blocking.
class TransportSocket {
 public:
  virtual ~TransportSocket() = default;

  // The connection's socket, connected or connecting; given once, before any other call.
  // The connection owns and closes the descriptor.
  virtual void setFd(int fd) = 0;

  // Advances the handshake. An outbound connection calls it once the TCP connect completed
  // and again on each readiness event until it returns kDone (the connection then reports
  // kConnected) or kFailed (it reports kConnectFailed). A raw socket is done at once.
  virtual HandshakeStatus handshake() = 0;
  // Why the handshake failed ("certificate verify failed: hostname mismatch"); empty before.
  virtual const std::string& failureReason() const = 0;

  // Reads at most `size` application bytes into `data`.
  virtual IoResult read(void* data, size_t size) = 0;
  // Writes application bytes from the front of `iov` (`count` entries); kOk may cover less
  // than all of them. After kAgain the connection offers the same bytes again (it may offer
  // more behind them, and from other addresses), as TLS requires.
  virtual IoResult writev(const iovec* iov, int count) = 0;

  // Ends the write side once everything queued was written: TLS sends close_notify, then
  // the TCP FIN follows.
  virtual void shutdownWrite() = 0;
  // The connection is about to close its socket. `graceful` when the close is local and the
  // socket is healthy: TLS then sends close_notify, without waiting for the peer's.
  virtual void onClose(bool graceful) = 0;

  // Application bytes already taken off the socket and held inside the transport (TLS
  // decrypts whole records). The socket's readiness does not announce them, so a connection
  // that resumes reading must read again when this is true.
  virtual bool hasBufferedReadData() const = 0;

  // True when a read that returned fewer bytes than asked means the socket has nothing
  // more now (plain TCP), so the connection may skip the read that would return EAGAIN;
  // bytes that arrive later raise a new readiness edge. TLS keeps decrypted records inside
  // and says false.
  virtual bool shortReadDrainsSocket() const { return false; }
};

using TransportSocketPtr = std::unique_ptr<TransportSocket>;

// Makes the transport sockets of outbound connections that share settings: one cluster's
// TLS context (CA, server name, verification). Built on the main thread with the config
// snapshot, immutable, shared by every worker: createTransportSocket() may run on several
// workers at once.
class TransportSocketFactory {
 public:
  virtual ~TransportSocketFactory() = default;

  // A transport socket for one connection to `host`, the endpoint's configured name or IP
  // literal (TLS sends it as SNI and verifies the certificate against it, unless the
  // settings name another server).
  virtual TransportSocketPtr createTransportSocket(std::string_view host) const = 0;

  // Equal for factories built from equal settings: connection pools key on it, so a reload
  // that did not change a cluster's TLS settings keeps its pooled connections.
  virtual const std::string& settingsKey() const = 0;

  // The server name these settings send and verify for every endpoint (a cluster's
  // `tls.sni`); empty when each endpoint's own host is used. The router makes it the
  // upstream Host too, so the request names the server the certificate was checked for.
  virtual std::string_view serverName() const { return {}; }
};

using TransportSocketFactoryConstSharedPtr = std::shared_ptr<const TransportSocketFactory>;

}  // namespace proxy::network
