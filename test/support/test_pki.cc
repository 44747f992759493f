#include "test/support/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace proxy::tls {
namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    throw std::runtime_error(std::string("TestPki: ") + what + " failed");
  }
}

EVP_PKEY* newKey() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  check(key != nullptr, "key generation");
  return key;
}

void addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(extension != nullptr, value);
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

X509* newCertificate(EVP_PKEY* key, const std::string& common_name, long serial) {
  X509* cert = X509_new();
  check(cert != nullptr, "X509_new");
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  return cert;
}

void writePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  check(file != nullptr, "fopen");
  bool ok = cert != nullptr
                ? PEM_write_X509(file, cert) == 1
                : PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(file);
  check(ok, "PEM write");
}

}  // namespace

TestPki::TestPki(const std::string& name) {
  char pattern[] = "/tmp/proxy_tls_test_XXXXXX";
  check(mkdtemp(pattern) != nullptr, "mkdtemp");
  directory_ = pattern;
  ca_key_ = newKey();
  ca_cert_ = newCertificate(ca_key_, name, 1);
  X509_set_issuer_name(ca_cert_, X509_get_subject_name(ca_cert_));
  addExtension(ca_cert_, ca_cert_, NID_basic_constraints, "critical,CA:TRUE");
  addExtension(ca_cert_, ca_cert_, NID_key_usage, "critical,keyCertSign,cRLSign");
  addExtension(ca_cert_, ca_cert_, NID_subject_key_identifier, "hash");
  check(X509_sign(ca_cert_, ca_key_, EVP_sha256()) > 0, "CA signature");
  ca_file_ = directory_ + "/ca.pem";
  writePem(ca_file_, ca_cert_, nullptr);
  files_.push_back(ca_file_);
}

TestPki::~TestPki() {
  X509_free(ca_cert_);
  EVP_PKEY_free(ca_key_);
  for (const std::string& file : files_) {
    ::unlink(file.c_str());
  }
  ::rmdir(directory_.c_str());
}

TestPki::Leaf TestPki::issue(const std::string& file_name,
                             const std::vector<std::string>& dns_names,
                             const std::vector<std::string>& ips) {
  EVP_PKEY* key = newKey();
  X509* cert =
      newCertificate(key, dns_names.empty() ? file_name : dns_names.front(), next_serial_++);
  X509_set_issuer_name(cert, X509_get_subject_name(ca_cert_));
  std::string alt_names;
  for (const std::string& dns : dns_names) {
    alt_names += (alt_names.empty() ? "" : ",") + std::string("DNS:") + dns;
  }
  for (const std::string& ip : ips) {
    alt_names += (alt_names.empty() ? "" : ",") + std::string("IP:") + ip;
  }
  addExtension(cert, ca_cert_, NID_basic_constraints, "critical,CA:FALSE");
  addExtension(cert, ca_cert_, NID_ext_key_usage, "serverAuth");
  addExtension(cert, ca_cert_, NID_authority_key_identifier, "keyid");
  if (!alt_names.empty()) {
    addExtension(cert, ca_cert_, NID_subject_alt_name, alt_names.c_str());
  }
  check(X509_sign(cert, ca_key_, EVP_sha256()) > 0, "leaf signature");
  Leaf leaf{directory_ + "/" + file_name + ".pem", directory_ + "/" + file_name + "-key.pem"};
  writePem(leaf.cert_file, cert, nullptr);
  writePem(leaf.key_file, nullptr, key);
  files_.push_back(leaf.cert_file);
  files_.push_back(leaf.key_file);
  X509_free(cert);
  EVP_PKEY_free(key);
  return leaf;
}

std::string TestPki::writeFile(const std::string& file_name, const std::string& content) {
  const std::string path = directory_ + "/" + file_name;
  FILE* file = std::fopen(path.c_str(), "w");
  check(file != nullptr, "fopen");
  std::fwrite(content.data(), 1, content.size(), file);
  std::fclose(file);
  files_.push_back(path);
  return path;
}

SSL_CTX* TestPki::serverContext(const Leaf& leaf) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  check(ctx != nullptr, "SSL_CTX_new");
  check(SSL_CTX_use_certificate_chain_file(ctx, leaf.cert_file.c_str()) == 1, "server cert");
  check(SSL_CTX_use_PrivateKey_file(ctx, leaf.key_file.c_str(), SSL_FILETYPE_PEM) == 1,
        "server key");
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

}  // namespace proxy::tls
