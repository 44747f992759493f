#include "test/support/tls_test_server.h"

#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "common/network/socket_util.h"

namespace proxy::tls {

TlsTestServer::TlsTestServer(event::Dispatcher& dispatcher, SSL_CTX* ctx)
    : dispatcher_(dispatcher), ctx_(ctx) {
  network::ListenSocket listener = network::createListenSocket("127.0.0.1", 0);
  listen_fd_ = listener.fd;
  address_ = listener.address;
  listen_event_ = dispatcher_.createFileEvent(
      listen_fd_, [this](uint32_t) { onListenReady(); }, event::FileTriggerType::kLevel,
      event::FileReadyType::kRead);
}

TlsTestServer::~TlsTestServer() {
  connection_event_.reset();
  listen_event_.reset();
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
  }
  if (fd_ >= 0) {
    ::close(fd_);
  }
  ::close(listen_fd_);
}

void TlsTestServer::send(const std::string& data) {
  output_ += data;
  if (connection_event_ != nullptr) {
    updateInterest();
  }
}

void TlsTestServer::closeNotify() {
  close_notify_pending_ = true;
  if (connection_event_ != nullptr) {
    updateInterest();
  }
}

void TlsTestServer::finWithoutCloseNotify() {
  bare_fin_pending_ = true;
  if (connection_event_ != nullptr) {
    updateInterest();
  }
}

void TlsTestServer::onListenReady() {
  if (fd_ >= 0) {
    return;
  }
  fd_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd_ < 0) {
    return;
  }
  accepted_ = true;
  listen_event_->setEnabled(0);
  if (ctx_ == nullptr) {
    // A plain server answers the ClientHello as garbage and hangs up.
    ::send(fd_, plain_reply_.data(), plain_reply_.size(), MSG_NOSIGNAL);
    ::close(fd_);
    fd_ = -1;
    return;
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_accept_state(ssl_);
  connection_event_ = dispatcher_.createFileEvent(
      fd_, [this](uint32_t) { onConnectionReady(); }, event::FileTriggerType::kLevel,
      event::FileReadyType::kRead);
}

void TlsTestServer::onConnectionReady() {
  if (ssl_ == nullptr || handshake_failed_) {
    return;
  }
  if (!handshake_done_) {
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      int error = SSL_get_error(ssl_, rc);
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
        handshake_failed_ = true;
        connection_event_->setEnabled(0);
      }
      ERR_clear_error();
      return;
    }
    handshake_done_ = true;
    const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
    sni_ = name != nullptr ? name : "";
  }
  readAll();
  flush();
  updateInterest();
}

void TlsTestServer::readAll() {
  char chunk[16384];
  while (!eof_) {
    ERR_clear_error();
    int n = SSL_read(ssl_, chunk, sizeof(chunk));
    if (n > 0) {
      received_bytes_ += static_cast<size_t>(n);
      if (keep_received_) {
        received_.append(chunk, static_cast<size_t>(n));
      }
      if (echo_) {
        output_.append(chunk, static_cast<size_t>(n));
      }
      continue;
    }
    int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      return;
    }
    close_notify_received_ = error == SSL_ERROR_ZERO_RETURN;
    eof_ = true;
    ERR_clear_error();
  }
}

void TlsTestServer::flush() {
  while (!output_.empty()) {
    ERR_clear_error();
    int n =
        SSL_write(ssl_, output_.data(), static_cast<int>(std::min<size_t>(output_.size(), 65536)));
    if (n <= 0) {
      ERR_clear_error();
      return;
    }
    output_.erase(0, static_cast<size_t>(n));
  }
  if (close_notify_pending_ && handshake_done_) {
    close_notify_pending_ = false;
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  if (bare_fin_pending_ && handshake_done_) {
    bare_fin_pending_ = false;
    ::shutdown(fd_, SHUT_WR);
  }
}

void TlsTestServer::updateInterest() {
  if (handshake_done_ && (!output_.empty() || close_notify_pending_ || bare_fin_pending_)) {
    flush();
  }
  uint32_t events = eof_ ? 0 : event::FileReadyType::kRead;
  if (!output_.empty()) {
    events |= event::FileReadyType::kWrite;
  }
  connection_event_->setEnabled(events);
}

}  // namespace proxy::tls
