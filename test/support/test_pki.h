#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

namespace proxy::tls {

// A throwaway certificate authority for TLS tests: makes a CA and the server certificates
// it signs (EC P-256, valid from an hour ago for a day), as PEM files in a temporary
// directory removed with the object.
class TestPki {
 public:
  struct Leaf {
    std::string cert_file;
    std::string key_file;
  };

  // `name` names the CA's subject and its files.
  explicit TestPki(const std::string& name = "Test CA");
  ~TestPki();

  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  // The CA certificate, PEM.
  const std::string& caFile() const { return ca_file_; }
  const std::string& directory() const { return directory_; }

  // A server certificate for `dns_names` and `ips` (subjectAltName), signed by this CA.
  Leaf issue(const std::string& file_name, const std::vector<std::string>& dns_names,
             const std::vector<std::string>& ips = {});

  // Writes `content` to `file_name` in the directory; returns its path.
  std::string writeFile(const std::string& file_name, const std::string& content);

  // A TLS server context serving `leaf`; the caller frees it.
  static SSL_CTX* serverContext(const Leaf& leaf);

 private:
  std::string directory_;
  std::string ca_file_;
  std::vector<std::string> files_;
  EVP_PKEY* ca_key_ = nullptr;
  X509* ca_cert_ = nullptr;
  long next_serial_ = 2;
};

}  // namespace proxy::tls
