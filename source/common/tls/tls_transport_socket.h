#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>

#include "api/network/transport_socket.h"

namespace proxy::tls {

// The client end of a TLS connection driven by the connection's own event loop: OpenSSL
// reads and writes the non-blocking socket itself (a socket BIO), and every call that
// would block returns kAgain, to be retried on the socket's next readiness edge. Made by
// ClientTlsContext; one per connection, on its worker.
class TlsTransportSocket final : public network::TransportSocket {
 public:
  // Takes `ssl`, configured for one server (SNI, name to verify). A null `ssl` makes a
  // socket whose handshake fails with `setup_error`.
  TlsTransportSocket(SSL* ssl, std::string setup_error);
  ~TlsTransportSocket() override;

  TlsTransportSocket(const TlsTransportSocket&) = delete;
  TlsTransportSocket& operator=(const TlsTransportSocket&) = delete;

  // network::TransportSocket
  void setFd(int fd) override;
  network::HandshakeStatus handshake() override;
  const std::string& failureReason() const override { return failure_reason_; }
  network::IoResult read(void* data, size_t size) override;
  network::IoResult writev(const iovec* iov, int count) override;
  void shutdownWrite() override;
  void onClose(bool graceful) override;
  bool hasBufferedReadData() const override;

 private:
  // Why the handshake failed, from the verify result, OpenSSL's error queue or errno.
  std::string describeHandshakeFailure(int ssl_error, int saved_errno) const;
  // Sends close_notify once, without waiting for the peer's.
  void sendCloseNotify();

  SSL* ssl_;
  int fd_ = -1;
  std::string failure_reason_;
  bool handshake_done_ = false;
  bool close_notify_sent_ = false;
};

}  // namespace proxy::tls
