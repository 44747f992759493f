#pragma once

#include "api/network/transport_socket.h"

namespace proxy::network {

// Plain TCP: read(2) and writev(2) on the connection's socket, nothing in between, so a
// plain connection costs what it did before transport sockets existed. It is 16 bytes and
// lives inside its ConnectionImpl: no allocation of its own, no per-instance string.
class RawTransportSocket final : public TransportSocket {
 public:
  // network::TransportSocket
  void setFd(int fd) override { fd_ = fd; }
  HandshakeStatus handshake() override { return HandshakeStatus::kDone; }
  const std::string& failureReason() const override;
  IoResult read(void* data, size_t size) override;
  IoResult writev(const iovec* iov, int count) override;
  void shutdownWrite() override;
  void onClose(bool) override {}
  bool hasBufferedReadData() const override { return false; }
  bool shortReadDrainsSocket() const override { return true; }

  // The same on any descriptor, for a connection that does its plain TCP without an
  // instance (ConnectionImpl).
  static IoResult readFrom(int fd, void* data, size_t size);
  static IoResult writevTo(int fd, const iovec* iov, int count);

 private:
  int fd_ = -1;
};

}  // namespace proxy::network
