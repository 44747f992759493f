#include "common/tls/client_tls_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "test/support/test_pki.h"

using testing::HasSubstr;

namespace proxy::tls {
namespace {

// Sets (or clears) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) {
      old_ = old;
    }
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Whether a client from `context` completes a handshake with a server presenting `leaf`,
// over a socketpair pumped here.
bool handshakes(const ClientTlsContext& context, const TestPki::Leaf& leaf,
                const std::string& host) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    return false;
  }
  SSL_CTX* server_ctx = TestPki::serverContext(leaf);
  SSL* server = SSL_new(server_ctx);
  SSL_set_fd(server, fds[1]);
  SSL_set_accept_state(server);
  network::TransportSocketPtr client = context.createTransportSocket(host);
  client->setFd(fds[0]);
  network::HandshakeStatus status = network::HandshakeStatus::kAgain;
  for (int i = 0; i < 50 && status == network::HandshakeStatus::kAgain; ++i) {
    status = client->handshake();
    SSL_do_handshake(server);
    ERR_clear_error();
  }
  client.reset();
  SSL_free(server);
  SSL_CTX_free(server_ctx);
  ::close(fds[0]);
  ::close(fds[1]);
  return status == network::HandshakeStatus::kDone;
}

TEST(ClientTlsContextTest, MissingCaFileIsAnError) {
  ClientTlsOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  try {
    ClientTlsContext context(options);
    FAIL() << "expected ClientTlsContextError";
  } catch (const ClientTlsContextError& error) {
    EXPECT_EQ(std::string("cannot read CA file /nonexistent/ca.pem: No such file or directory"),
              error.what());
  }
}

TEST(ClientTlsContextTest, CaFileWithoutCertificatesIsAnError) {
  TestPki pki;
  ClientTlsOptions options;
  options.ca_file = pki.writeFile("garbage.pem", "not a certificate\n");
  try {
    ClientTlsContext context(options);
    FAIL() << "expected ClientTlsContextError";
  } catch (const ClientTlsContextError& error) {
    EXPECT_THAT(error.what(),
                HasSubstr("no CA certificate could be loaded from " + options.ca_file));
    EXPECT_EQ(std::string(error.what()).find('\n'), std::string::npos);
  }
  EXPECT_EQ(0u, ERR_peek_error());  // nothing left on this thread's error queue
}

TEST(ClientTlsContextTest, SettingsKeyFollowsTheSettings) {
  ClientTlsOptions a;
  ClientTlsOptions b;
  EXPECT_EQ(ClientTlsContext(a).settingsKey(), ClientTlsContext(b).settingsKey());
  b.sni = "api.test";
  EXPECT_NE(ClientTlsContext(a).settingsKey(), ClientTlsContext(b).settingsKey());
  ClientTlsOptions c;
  c.verify = false;
  EXPECT_NE(ClientTlsContext(a).settingsKey(), ClientTlsContext(c).settingsKey());
  TestPki pki;
  ClientTlsOptions d;
  d.ca_file = pki.caFile();
  EXPECT_NE(ClientTlsContext(a).settingsKey(), ClientTlsContext(d).settingsKey());
}

TEST(ClientTlsContextTest, ClusterCaFileIsTrusted) {
  TestPki pki;
  TestPki::Leaf leaf = pki.issue("localhost", {"localhost"});
  ClientTlsOptions options;
  options.ca_file = pki.caFile();
  EXPECT_TRUE(handshakes(ClientTlsContext(options), leaf, "localhost"));
}

TEST(ClientTlsContextTest, SystemStoreFromSslCertFileIsHonoured) {
  TestPki pki;
  TestPki::Leaf leaf = pki.issue("localhost", {"localhost"});
  ScopedEnv no_dir("SSL_CERT_DIR", "/nonexistent");
  {
    ScopedEnv file("SSL_CERT_FILE", pki.caFile().c_str());
    EXPECT_TRUE(handshakes(ClientTlsContext(ClientTlsOptions{}), leaf, "localhost"));
  }
  {
    // The test CA is in no real system store.
    ScopedEnv file("SSL_CERT_FILE", "/nonexistent/ca.pem");
    EXPECT_FALSE(handshakes(ClientTlsContext(ClientTlsOptions{}), leaf, "localhost"));
  }
}

TEST(ClientTlsContextTest, SystemStoreFromSslCertDirIsHonoured) {
  TestPki pki;
  TestPki::Leaf leaf = pki.issue("localhost", {"localhost"});
  // A hashed directory as c_rehash makes: <subject hash>.0 -> the CA.
  X509* ca = nullptr;
  {
    FILE* file = std::fopen(pki.caFile().c_str(), "r");
    ASSERT_NE(nullptr, file);
    ca = PEM_read_X509(file, nullptr, nullptr, nullptr);
    std::fclose(file);
  }
  ASSERT_NE(nullptr, ca);
  char hash[16];
  std::snprintf(hash, sizeof(hash), "%08lx.0", X509_subject_name_hash(ca));
  X509_free(ca);
  FILE* source = std::fopen(pki.caFile().c_str(), "r");
  std::string pem(8192, '\0');
  pem.resize(std::fread(pem.data(), 1, pem.size(), source));
  std::fclose(source);
  pki.writeFile(hash, pem);
  ScopedEnv file("SSL_CERT_FILE", "/nonexistent/ca.pem");
  ScopedEnv dir("SSL_CERT_DIR", pki.directory().c_str());
  EXPECT_TRUE(handshakes(ClientTlsContext(ClientTlsOptions{}), leaf, "localhost"));
}

TEST(ClientTlsContextTest, OneContextServesManyConnectionsAndHosts) {
  TestPki pki;
  ClientTlsOptions options;
  options.ca_file = pki.caFile();
  ClientTlsContext context(options);
  TestPki::Leaf a = pki.issue("a", {"a.test"});
  TestPki::Leaf b = pki.issue("b", {"b.test"});
  EXPECT_TRUE(handshakes(context, a, "a.test"));
  EXPECT_TRUE(handshakes(context, b, "b.test"));
  EXPECT_FALSE(handshakes(context, a, "b.test"));
}

}  // namespace
}  // namespace proxy::tls
