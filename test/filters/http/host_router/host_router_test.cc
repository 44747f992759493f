#include "filters/http/host_router/host_router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/router/route_impl.h"
#include "test/mocks/http/mocks.h"
#include "test/mocks/upstream/mocks.h"

namespace proxy::filters::host_router {
namespace {

using testing::_;
using testing::NiceMock;

class HostRouterTest : public testing::Test {
 protected:
  HostRouterTest() {
    api_->name_ = "api";
    web_->name_ = "web";
    all_->name_ = "all";
  }

  void configure(const std::vector<VirtualHost>& virtual_hosts) {
    config_ = std::make_shared<const HostRouterConfig>(virtual_hosts);
    filter_ = std::make_unique<HostRouterFilter>(config_);
    filter_->setDecoderFilterCallbacks(callbacks_);
  }

  http::FilterHeadersStatus request(const std::string& host, const std::string& target) {
    headers_ = std::make_unique<http::RequestHeaderMap>();
    headers_->setPath(target);
    if (!host.empty()) {
      headers_->add("Host", host);
    }
    return filter_->decodeHeaders(*headers_, false);
  }

  std::shared_ptr<NiceMock<upstream::MockCluster>> api_ =
      std::make_shared<NiceMock<upstream::MockCluster>>();
  std::shared_ptr<NiceMock<upstream::MockCluster>> web_ =
      std::make_shared<NiceMock<upstream::MockCluster>>();
  std::shared_ptr<NiceMock<upstream::MockCluster>> all_ =
      std::make_shared<NiceMock<upstream::MockCluster>>();
  NiceMock<http::MockStreamDecoderFilterCallbacks> callbacks_;
  HostRouterConfigConstSharedPtr config_;
  std::unique_ptr<HostRouterFilter> filter_;
  http::RequestHeaderMapPtr headers_;
};

struct HostCase {
  const char* host;
  const char* target;
  const char* route;  // "" when no virtual host matches
  const char* forwarded_path;
};

TEST_F(HostRouterTest, ExactNamesThenLongestWildcard) {
  // Order in the config does not matter: the catch-all wildcard comes first here.
  configure({
      {"example", {"*.example.com"}, all_, false},
      {"api", {"api.example.com", "*.api.example.com"}, api_, false},
      {"web", {"www.example.com", "example.com", "[::1]"}, web_, true},
  });
  const HostCase cases[] = {
      {"api.example.com", "/v1/users", "api", "/v1/users"},
      {"API.Example.COM:8021", "/", "api", "/"},
      {"api.example.com.", "/", "api", "/"},
      {"v2.api.example.com", "/x", "api", "/x"},
      {"a.b.api.example.com", "/x", "api", "/x"},
      {"www.example.com", "/", "web", "/"},
      {"example.com", "/", "web", "/"},
      {"shop.example.com", "/cart", "example", "/cart"},
      {"deep.shop.example.com", "/cart", "example", "/cart"},
      {"[::1]:8021", "/", "web", "/"},
      {"example.org", "/", "", "/"},
      {"com", "/", "", "/"},
      {"", "/", "", "/"},
      // The path is normalized on a match and forwarded as matched; never stripped.
      {"api.example.com", "/v1/./users/../items?q=/..", "api", "/v1/items?q=/.."},
      {"api.example.com", "/v1%2F..%2Fx", "api", "/v1%2F..%2Fx"},
      // Absolute form: the authority is the host.
      {"www.example.com", "http://v3.api.example.com/x", "api", "/x"},
  };
  for (const HostCase& c : cases) {
    SCOPED_TRACE(std::string(c.host) + " " + c.target);
    callbacks_.route_ = nullptr;
    callbacks_.stream_info_ = http::StreamInfo{};
    EXPECT_EQ(request(c.host, c.target), http::FilterHeadersStatus::kContinue);
    if (*c.route == '\0') {
      EXPECT_EQ(callbacks_.route_, nullptr);
      EXPECT_EQ(headers_->path(), c.target);
      continue;
    }
    ASSERT_NE(callbacks_.route_, nullptr);
    EXPECT_EQ(callbacks_.route_->name(), c.route);
    EXPECT_EQ(callbacks_.route_->routerName(), "host_router");
    EXPECT_EQ(callbacks_.stream_info_.route_name, c.route);
    EXPECT_EQ(callbacks_.stream_info_.cluster_name, callbacks_.route_->cluster()->name());
    EXPECT_EQ(headers_->path(), c.forwarded_path);
  }
}

TEST_F(HostRouterTest, PreserveHostAndCluster) {
  configure({{"web", {"example.com"}, web_, true}});
  request("example.com", "/");
  ASSERT_NE(callbacks_.route_, nullptr);
  EXPECT_TRUE(callbacks_.route_->preserveHost());
  EXPECT_EQ(callbacks_.route_->cluster().get(), web_.get());
  EXPECT_EQ(callbacks_.stream_info_.cluster_name, "web");
}

TEST_F(HostRouterTest, EarlierRouterDecides) {
  configure({{"web", {"example.com"}, web_, false}});
  auto earlier = std::make_shared<proxy::router::RouteImpl>("first", "host_router", api_, false);
  callbacks_.route_ = earlier;
  EXPECT_CALL(callbacks_, setRoute(_)).Times(0);
  EXPECT_CALL(callbacks_, sendLocalReply(_, _)).Times(0);
  EXPECT_EQ(request("example.com", "/a/./b"), http::FilterHeadersStatus::kContinue);
  EXPECT_EQ(headers_->path(), "/a/./b");
  EXPECT_EQ(request("example.com", "/.."), http::FilterHeadersStatus::kContinue);
  EXPECT_EQ(callbacks_.route_, earlier);
  EXPECT_EQ(callbacks_.stream_info_.route_name, "");
}

TEST_F(HostRouterTest, PathAboveRootIs400) {
  configure({{"web", {"example.com"}, web_, false}});
  EXPECT_CALL(callbacks_, sendLocalReply(400, _));
  EXPECT_EQ(request("example.com", "/a/../../b"), http::FilterHeadersStatus::kStopIteration);
  EXPECT_EQ(callbacks_.route_, nullptr);
}

TEST_F(HostRouterTest, HostInTwoVirtualHostsIsRefused) {
  EXPECT_THROW(HostRouterConfig({{"a", {"x.com"}, web_, false}, {"b", {"x.com"}, api_, false}}),
               std::invalid_argument);
}

}  // namespace
}  // namespace proxy::filters::host_router
