#pragma once

#include <openssl/ssl.h>

#include <string>

#include "api/event/dispatcher.h"
#include "api/network/address.h"

namespace proxy::tls {

// The server end of TLS tests, run by the test's own dispatcher (no thread): listens on
// 127.0.0.1:0, accepts one connection, completes the handshake with `ctx` and records what
// it saw: the SNI, the application bytes, a close_notify or a bare EOF. It echoes what it
// reads unless echo_ is false; send() queues bytes of its own. With a null `ctx` it speaks
// plain TCP: it sends `plain_reply_` and closes, as a non-TLS server answering a handshake.
class TlsTestServer {
 public:
  TlsTestServer(event::Dispatcher& dispatcher, SSL_CTX* ctx);
  ~TlsTestServer();

  TlsTestServer(const TlsTestServer&) = delete;
  TlsTestServer& operator=(const TlsTestServer&) = delete;

  const network::Address& address() const { return address_; }

  // Queues `data` to send once the handshake is done.
  void send(const std::string& data);
  // Sends close_notify after what is queued.
  void closeNotify();
  // Sends a bare FIN (no close_notify) after what is queued: a truncated TLS stream.
  void finWithoutCloseNotify();

  bool echo_ = true;
  std::string plain_reply_ = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";

  bool accepted_ = false;
  bool handshake_done_ = false;
  bool handshake_failed_ = false;
  std::string sni_;  // empty when the client sent none
  std::string received_;
  size_t received_bytes_ = 0;  // counted even with keep_received_ false
  bool keep_received_ = true;
  bool close_notify_received_ = false;
  bool eof_ = false;  // the peer closed, with or without close_notify

 private:
  void onListenReady();
  void onConnectionReady();
  void readAll();
  void flush();
  void updateInterest();

  event::Dispatcher& dispatcher_;
  SSL_CTX* ctx_;
  int listen_fd_ = -1;
  int fd_ = -1;
  network::Address address_;
  event::FileEventPtr listen_event_;
  event::FileEventPtr connection_event_;
  SSL* ssl_ = nullptr;
  std::string output_;
  bool close_notify_pending_ = false;
  bool bare_fin_pending_ = false;
};

}  // namespace proxy::tls
