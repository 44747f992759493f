#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "api/network/transport_socket.h"

namespace proxy::tls {

// A cluster's TLS settings (its config `tls:` block); the defaults are what an inline
// https:// target gets.
struct ClientTlsOptions {
  // PEM file of the CAs to trust instead of the system store. Empty: OpenSSL's default
  // paths, which honour SSL_CERT_FILE and SSL_CERT_DIR as curl does.
  std::string ca_file;
  // The server name to send (SNI) and to verify instead of each endpoint's host.
  std::string sni;
  // False skips the chain and name checks: for testing only.
  bool verify = true;
};

// Building a context failed (an unreadable CA file, a file without certificates). The
// message is one line.
class ClientTlsContextError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The TLS client side of one cluster: one SSL_CTX, built on the main thread when the config
// snapshot is built, then shared read-only by every worker, each making one SSL per
// connection from it (SSL_new on a shared SSL_CTX is thread-safe). Trust is loaded once,
// here: a worker never reads a file.
class ClientTlsContext final : public network::TransportSocketFactory {
 public:
  // Throws ClientTlsContextError.
  explicit ClientTlsContext(ClientTlsOptions options);
  ~ClientTlsContext() override;

  ClientTlsContext(const ClientTlsContext&) = delete;
  ClientTlsContext& operator=(const ClientTlsContext&) = delete;

  // network::TransportSocketFactory
  network::TransportSocketPtr createTransportSocket(std::string_view host) const override;
  const std::string& settingsKey() const override { return settings_key_; }
  std::string_view serverName() const override { return options_.sni; }

  const ClientTlsOptions& options() const { return options_; }

 private:
  const ClientTlsOptions options_;
  const std::string settings_key_;
  SSL_CTX* ctx_ = nullptr;
};

using ClientTlsContextConstSharedPtr = std::shared_ptr<const ClientTlsContext>;

}  // namespace proxy::tls
