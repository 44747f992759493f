#include "common/tls/tls_transport_socket.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace proxy::tls {
namespace {

using network::HandshakeStatus;
using network::IoResult;

// The reason of the oldest error OpenSSL queued on this thread, and the queue emptied (it is
// per thread: a stale entry would be blamed on the next connection).
std::string takeOpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "";
  }
  const char* reason = ERR_reason_error_string(code);
  if (reason != nullptr) {
    return reason;
  }
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

int clampToInt(size_t size) { return size > INT_MAX ? INT_MAX : static_cast<int>(size); }

}  // namespace

TlsTransportSocket::TlsTransportSocket(SSL* ssl, std::string setup_error)
    : ssl_(ssl), failure_reason_(std::move(setup_error)) {}

TlsTransportSocket::~TlsTransportSocket() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
  }
}

void TlsTransportSocket::setFd(int fd) {
  fd_ = fd;
  if (ssl_ != nullptr && SSL_set_fd(ssl_, fd) != 1) {
    failure_reason_ = "tls setup failed: " + takeOpenSslError();
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
}

HandshakeStatus TlsTransportSocket::handshake() {
  if (handshake_done_) {
    return HandshakeStatus::kDone;
  }
  if (ssl_ == nullptr) {
    if (failure_reason_.empty()) {
      failure_reason_ = "tls setup failed";
    }
    return HandshakeStatus::kFailed;
  }
  ERR_clear_error();
  errno = 0;
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    handshake_done_ = true;
    return HandshakeStatus::kDone;
  }
  const int saved_errno = errno;
  const int error = SSL_get_error(ssl_, rc);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    return HandshakeStatus::kAgain;
  }
  failure_reason_ = describeHandshakeFailure(error, saved_errno);
  return HandshakeStatus::kFailed;
}

std::string TlsTransportSocket::describeHandshakeFailure(int ssl_error, int saved_errno) const {
  // Without verification the result is computed but was not why the handshake stopped.
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK && (SSL_get_verify_mode(ssl_) & SSL_VERIFY_PEER) != 0) {
    ERR_clear_error();
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  }
  std::string reason = takeOpenSslError();
  if (!reason.empty()) {
    return "tls handshake failed: " + reason;
  }
  if (ssl_error == SSL_ERROR_SYSCALL && saved_errno != 0) {
    return std::string("tls handshake failed: ") + std::strerror(saved_errno);
  }
  return "tls handshake failed: the server closed the connection";
}

IoResult TlsTransportSocket::read(void* data, size_t size) {
  ERR_clear_error();
  errno = 0;
  const int n = SSL_read(ssl_, data, clampToInt(size));
  if (n > 0) {
    return IoResult{IoResult::Status::kOk, static_cast<size_t>(n), {}};
  }
  const int saved_errno = errno;
  switch (SSL_get_error(ssl_, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return IoResult{IoResult::Status::kAgain, 0, {}};
    case SSL_ERROR_ZERO_RETURN:
      // close_notify: the peer ended the stream on purpose.
      return IoResult{IoResult::Status::kEndOfStream, 0, {}};
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (saved_errno == 0) {
        // A bare FIN (OpenSSL 1.1's way of saying so): possibly a truncation.
        return IoResult{IoResult::Status::kError, 0, "unexpected_eof"};
      }
      return IoResult{IoResult::Status::kError, 0,
                      saved_errno == ECONNRESET ? "connection_reset" : "read_error"};
    default: {
      // OpenSSL 3 reports a FIN without close_notify as this error. The connection ends
      // either way; the word lets a close-delimited response be told apart from a cut one.
      const bool eof = ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
      ERR_clear_error();
      return IoResult{IoResult::Status::kError, 0, eof ? "unexpected_eof" : "tls_error"};
    }
  }
}

IoResult TlsTransportSocket::writev(const iovec* iov, int count) {
  // One SSL_write per slice: each becomes one or more records, with no copy into a staging
  // buffer. SSL_MODE_ENABLE_PARTIAL_WRITE lets a large slice go out a record at a time.
  size_t total = 0;
  for (int i = 0; i < count; ++i) {
    if (iov[i].iov_len == 0) {
      continue;
    }
    ERR_clear_error();
    errno = 0;
    const int length = clampToInt(iov[i].iov_len);
    const int n = SSL_write(ssl_, iov[i].iov_base, length);
    if (n > 0) {
      total += static_cast<size_t>(n);
      if (n < length) {
        break;
      }
      continue;
    }
    const int saved_errno = errno;
    const int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
      break;  // the same bytes are offered again on the next write-ready edge
    }
    ERR_clear_error();
    if (error == SSL_ERROR_SYSCALL && (saved_errno == EPIPE || saved_errno == ECONNRESET)) {
      return IoResult{IoResult::Status::kError, 0, "connection_reset"};
    }
    return IoResult{IoResult::Status::kError, 0,
                    error == SSL_ERROR_SYSCALL ? "write_error" : "tls_error"};
  }
  if (total > 0) {
    return IoResult{IoResult::Status::kOk, total, {}};
  }
  return IoResult{IoResult::Status::kAgain, 0, {}};
}

void TlsTransportSocket::sendCloseNotify() {
  if (close_notify_sent_ || !handshake_done_ || ssl_ == nullptr) {
    return;
  }
  close_notify_sent_ = true;
  ERR_clear_error();
  // Once, non-blocking: 0 means "sent, the peer's not yet seen", which is all we want; a
  // full socket buffer just loses the courtesy.
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

void TlsTransportSocket::shutdownWrite() {
  sendCloseNotify();
  ::shutdown(fd_, SHUT_WR);
}

void TlsTransportSocket::onClose(bool graceful) {
  if (graceful) {
    sendCloseNotify();
  }
}

bool TlsTransportSocket::hasBufferedReadData() const {
  return ssl_ != nullptr && handshake_done_ && SSL_has_pending(ssl_) == 1;
}

}  // namespace proxy::tls
