#include "admin/admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

namespace proxy::admin {
namespace {

using testing::HasSubstr;
using testing::StartsWith;

// A blocking client socket to 127.0.0.1:port with a receive timeout.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval timeout{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~Client() { close(); }
  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  bool connected() const { return connected_; }
  void send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // Everything until the server closes (every request here says Connection: close).
  std::string readAll() {
    std::string out;
    char buffer[4096];
    while (true) {
      ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        return out;
      }
      out.append(buffer, static_cast<size_t>(n));
    }
  }
  std::string exchange(const std::string& request) {
    send(request);
    return readAll();
  }

 private:
  int fd_;
  bool connected_ = false;
};

std::string request(const std::string& method, const std::string& path,
                    const std::string& headers = "Host: 127.0.0.1\r\n") {
  return method + " " + path + " HTTP/1.1\r\n" + headers + "Connection: close\r\n\r\n";
}

uint16_t portOf(const std::string& address) {
  return static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

class AdminServerTest : public testing::Test {
 protected:
  void SetUp() override {
    AdminHooks hooks;
    hooks.ready = [] { return true; };
    // The reload is left pending: the test answers it, from its own thread, when it wants.
    hooks.reload = [this](AdminReplyCb done) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++reloads_;
      pending_ = std::move(done);
    };
    hooks.config_dump = [](bool yaml, AdminReplyCb done) {
      done(AdminReply{200, yaml ? "generation: 1\n" : "{\"generation\":1}\n",
                      yaml ? "application/yaml" : "application/json"});
    };
    server_ = std::make_unique<AdminServer>(
        server::HostPort{"127.0.0.1", 0}, server::HostPort{"127.0.0.1", 0},
        std::make_shared<const AdminAccessPolicy>(std::vector<std::string>{}, ""),
        std::vector<std::shared_ptr<prometheus::Collectable>>{}, hooks);
    server_->start();
    port_ = portOf(server_->boundAddress());
    read_only_port_ = portOf(server_->readOnlyBoundAddress());
  }
  void TearDown() override { server_->stop(); }

  int reloads() {
    std::lock_guard<std::mutex> lock(mutex_);
    return reloads_;
  }
  // Waits (bounded) for the reload hook to have been called `n` times.
  bool waitForReloads(int n) {
    for (int i = 0; i < 500 && reloads() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return reloads() == n;
  }
  bool waitForConnections(uint32_t n) {
    for (int i = 0; i < 500 && server_->openConnections() != n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return server_->openConnections() == n;
  }
  // Answers the pending reload from another thread, as the main thread would.
  void answerReload(AdminReply reply) {
    AdminReplyCb done;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done = std::move(pending_);
    }
    std::thread([done = std::move(done), reply = std::move(reply)] { done(reply); }).join();
  }

  std::unique_ptr<AdminServer> server_;
  uint16_t port_ = 0;
  uint16_t read_only_port_ = 0;
  std::mutex mutex_;
  int reloads_ = 0;
  AdminReplyCb pending_;
};

TEST_F(AdminServerTest, ReloadIsAnsweredWhenItsResultIsPostedBack) {
  Client client(port_);
  ASSERT_TRUE(client.connected());
  client.send(request("POST", "/reload"));
  ASSERT_TRUE(waitForReloads(1));
  answerReload(AdminReply{200, "{\"status\":\"ok\",\"generation\":2}\n", "application/json"});
  std::string response = client.readAll();
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 "));
  EXPECT_THAT(response, HasSubstr("content-type: application/json"));
  EXPECT_THAT(response, HasSubstr("cache-control: no-store"));
  EXPECT_THAT(response, HasSubstr("{\"status\":\"ok\",\"generation\":2}"));
}

TEST_F(AdminServerTest, HeadNeverReloads) {
  Client client(port_);
  std::string response = client.exchange(request("HEAD", "/reload"));
  EXPECT_THAT(response, StartsWith("HTTP/1.1 405 "));
  EXPECT_THAT(response, HasSubstr("allow: POST, GET"));
  EXPECT_EQ(reloads(), 0);
  // GET still does, as the Go program's users expect.
  Client get(port_);
  get.send(request("GET", "/reload"));
  EXPECT_TRUE(waitForReloads(1));
  answerReload(AdminReply{200, "{}\n", "application/json"});
  EXPECT_THAT(get.readAll(), StartsWith("HTTP/1.1 200 "));
}

TEST_F(AdminServerTest, ProbesAnswerWhileAReloadIsPending) {
  Client reload(port_);
  reload.send(request("POST", "/reload"));
  ASSERT_TRUE(waitForReloads(1));
  for (const char* path : {"/healthz", "/ready", "/metrics"}) {
    Client probe(port_);
    EXPECT_THAT(probe.exchange(request("GET", path)), StartsWith("HTTP/1.1 200 ")) << path;
  }
  answerReload(AdminReply{200, "{}\n", "application/json"});
  EXPECT_THAT(reload.readAll(), StartsWith("HTTP/1.1 200 "));
}

TEST_F(AdminServerTest, AnswerAfterTheClientLeftIsDropped) {
  {
    Client client(port_);
    client.send(request("POST", "/reload"));
    ASSERT_TRUE(waitForReloads(1));
  }
  ASSERT_TRUE(waitForConnections(0));
  // Posted to a filter that no longer exists: nothing happens (ASan would see a use after
  // free), and the server goes on serving.
  answerReload(AdminReply{200, "{}\n", "application/json"});
  Client probe(port_);
  EXPECT_THAT(probe.exchange(request("GET", "/healthz")), StartsWith("HTTP/1.1 200 "));
}

TEST_F(AdminServerTest, IdleConnectionsDoNotHoldTheProbes) {
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 50; ++i) {
    idle.push_back(std::make_unique<Client>(port_));
  }
  ASSERT_TRUE(waitForConnections(50));
  Client probe(port_);
  EXPECT_THAT(probe.exchange(request("GET", "/healthz")), HasSubstr("\r\n\r\nok\n"));
}

TEST_F(AdminServerTest, TheOldestConnectionMakesRoomPastTheCap) {
  std::vector<std::unique_ptr<Client>> idle;
  for (uint32_t i = 0; i < AdminServer::kMaxConnections; ++i) {
    idle.push_back(std::make_unique<Client>(port_));
  }
  ASSERT_TRUE(waitForConnections(AdminServer::kMaxConnections));
  Client probe(port_);
  EXPECT_THAT(probe.exchange(request("GET", "/ready")), StartsWith("HTTP/1.1 200 "));
  EXPECT_EQ(idle.front()->readAll(), "");  // closed to make room
}

TEST_F(AdminServerTest, ReadOnlyAddressServesOnlyTheProbes) {
  Client metrics(read_only_port_);
  EXPECT_THAT(metrics.exchange(request("GET", "/metrics", "Host: 10.0.0.7:9902\r\n")),
              StartsWith("HTTP/1.1 200 "));
  Client dump(read_only_port_);
  EXPECT_THAT(dump.exchange(request("GET", "/config_dump")), StartsWith("HTTP/1.1 404 "));
  Client reload(read_only_port_);
  EXPECT_THAT(reload.exchange(request("POST", "/reload")), StartsWith("HTTP/1.1 404 "));
  EXPECT_EQ(reloads(), 0);
}

TEST_F(AdminServerTest, ANewPolicyAppliesToTheNextRequest) {
  Client before(port_);
  EXPECT_THAT(before.exchange(request("GET", "/config_dump")), StartsWith("HTTP/1.1 200 "));
  server_->setAccessPolicy(
      std::make_shared<const AdminAccessPolicy>(std::vector<std::string>{"proxy.test"}, "tok"));
  // The policy is posted to the admin loop: poll until it is in force.
  std::string response;
  for (int i = 0; i < 100; ++i) {
    Client after(port_);
    response = after.exchange(request("GET", "/config_dump"));
    if (response.rfind("HTTP/1.1 401 ", 0) == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_THAT(response, StartsWith("HTTP/1.1 401 "));
  EXPECT_THAT(response, HasSubstr("www-authenticate: Bearer"));
  Client with_token(port_);
  EXPECT_THAT(with_token.exchange(request("GET", "/config_dump",
                                          "Host: proxy.test\r\nAuthorization: Bearer tok\r\n")),
              StartsWith("HTTP/1.1 200 "));
}

}  // namespace
}  // namespace proxy::admin
