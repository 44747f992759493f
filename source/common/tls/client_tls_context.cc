#include "common/tls/client_tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/tls/tls_transport_socket.h"

namespace proxy::tls {
namespace {

std::string takeOpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "unknown error";
  }
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "error " + std::to_string(code);
}

bool isIpLiteral(const std::string& host) {
  unsigned char address[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), address) == 1 ||
         inet_pton(AF_INET6, host.c_str(), address) == 1;
}

std::string settingsKeyOf(const ClientTlsOptions& options) {
  return "ca_file=" + options.ca_file + "\nsni=" + options.sni +
         "\nverify=" + (options.verify ? "1" : "0");
}

// HTTP/1.1 only: said through ALPN so a server that would pick h2 by default does not.
constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

}  // namespace

ClientTlsContext::ClientTlsContext(ClientTlsOptions options)
    : options_(std::move(options)), settings_key_(settingsKeyOf(options_)) {
  ERR_clear_error();
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr) {
    throw ClientTlsContextError("cannot create a TLS context: " + takeOpenSslError());
  }
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  // Partial writes and moving buffers: the connection offers its buffer's slices as they are
  // and drains what was taken. Released buffers: an idle pooled connection holds no 16 KiB
  // read and write buffers. Read-ahead: a record in one read(2) rather than two.
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                             SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_read_ahead(ctx_, 1);
  // No SSL_OP_IGNORE_UNEXPECTED_EOF: a FIN without close_notify must stay distinguishable
  // (the transport reports it as "unexpected_eof"), or a response read until the close could
  // be cut by anyone on the path and pass as complete. A response framed by its length
  // still completes: the bytes before the EOF are delivered.
  SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_alpn_protos(ctx_, kAlpn, sizeof(kAlpn));

  if (options_.verify) {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (!options_.ca_file.empty()) {
      if (::access(options_.ca_file.c_str(), R_OK) != 0) {
        const std::string reason = std::strerror(errno);
        SSL_CTX_free(ctx_);
        throw ClientTlsContextError("cannot read CA file " + options_.ca_file + ": " + reason);
      }
      if (SSL_CTX_load_verify_locations(ctx_, options_.ca_file.c_str(), nullptr) != 1) {
        const std::string reason = takeOpenSslError();
        SSL_CTX_free(ctx_);
        throw ClientTlsContextError("no CA certificate could be loaded from " + options_.ca_file +
                                    ": " + reason);
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx_) != 1) {
      // Not fatal: with no system store every upstream fails verification, and says so.
      ERR_clear_error();
    }
  } else {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  }
  ERR_clear_error();
}

ClientTlsContext::~ClientTlsContext() { SSL_CTX_free(ctx_); }

network::TransportSocketPtr ClientTlsContext::createTransportSocket(std::string_view host) const {
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) {
    return std::make_unique<TlsTransportSocket>(nullptr, "tls setup failed: " + takeOpenSslError());
  }
  SSL_set_connect_state(ssl);
  const std::string server_name = options_.sni.empty() ? std::string(host) : options_.sni;
  const bool ip = isIpLiteral(server_name);
  bool ok = true;
  // RFC 6066 §3: SNI carries host names only, never an address.
  if (!ip && !server_name.empty()) {
    ok = SSL_set_tlsext_host_name(ssl, server_name.c_str()) == 1;
  }
  if (ok && options_.verify) {
    if (ip) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str()) == 1;
    } else {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      ok = SSL_set1_host(ssl, server_name.c_str()) == 1;
    }
  }
  if (!ok) {
    std::string reason =
        "tls setup failed for server name \"" + server_name + "\": " + takeOpenSslError();
    SSL_free(ssl);
    return std::make_unique<TlsTransportSocket>(nullptr, std::move(reason));
  }
  return std::make_unique<TlsTransportSocket>(ssl, std::string());
}

}  // namespace proxy::tls
