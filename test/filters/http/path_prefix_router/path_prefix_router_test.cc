#include "filters/http/path_prefix_router/path_prefix_router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "api/buffer/buffer.h"
#include "common/router/route_impl.h"
#include "test/mocks/http/mocks.h"
#include "test/mocks/upstream/mocks.h"

namespace proxy::filters::path_prefix_router {
namespace {

using testing::_;
using testing::NiceMock;

class PathPrefixRouterTest : public testing::Test {
 protected:
  PathPrefixRouterTest() {
    users_->name_ = "users";
    fallback_->name_ = "fallback";
  }

  void configure(std::vector<PrefixRoute> routes) {
    config_ = std::make_shared<const PathPrefixRouterConfig>(routes);
    filter_ = std::make_unique<PathPrefixRouterFilter>(config_);
    filter_->setDecoderFilterCallbacks(callbacks_);
  }

  http::FilterHeadersStatus request(const std::string& host, const std::string& target) {
    headers_ = std::make_unique<http::RequestHeaderMap>();
    headers_->setMethod("GET");
    headers_->setPath(target);
    if (!host.empty()) {
      headers_->add("Host", host);
    }
    return filter_->decodeHeaders(*headers_, true);
  }

  PrefixRoute route(std::string name, std::string host, std::string prefix,
                    upstream::ClusterConstSharedPtr cluster, bool strip = false) {
    return PrefixRoute{std::move(name),    std::move(host), std::move(prefix),
                       std::move(cluster), strip,           false};
  }

  std::shared_ptr<NiceMock<upstream::MockCluster>> users_ =
      std::make_shared<NiceMock<upstream::MockCluster>>();
  std::shared_ptr<NiceMock<upstream::MockCluster>> fallback_ =
      std::make_shared<NiceMock<upstream::MockCluster>>();
  NiceMock<http::MockStreamDecoderFilterCallbacks> callbacks_;
  PathPrefixRouterConfigConstSharedPtr config_;
  std::unique_ptr<PathPrefixRouterFilter> filter_;
  http::RequestHeaderMapPtr headers_;
};

TEST_F(PathPrefixRouterTest, MatchSetsRoutePathAndStreamInfo) {
  configure({route("users", "admin.localhost", "/users", users_, true),
             route("admin", "admin.localhost", "/", fallback_)});
  EXPECT_CALL(callbacks_, setRoute(_));
  EXPECT_EQ(request("Admin.Localhost:8021", "/users/42?full=1"),
            http::FilterHeadersStatus::kContinue);
  ASSERT_NE(callbacks_.route_, nullptr);
  EXPECT_EQ(callbacks_.route_->name(), "users");
  EXPECT_EQ(callbacks_.route_->routerName(), "path_prefix_router");
  EXPECT_EQ(callbacks_.route_->cluster().get(), users_.get());
  EXPECT_FALSE(callbacks_.route_->preserveHost());
  EXPECT_EQ(headers_->path(), "/42?full=1");
  EXPECT_EQ(headers_->get("host"), "Admin.Localhost:8021");  // Host is the router's business
  EXPECT_EQ(callbacks_.stream_info_.route_name, "users");
  EXPECT_EQ(callbacks_.stream_info_.cluster_name, "users");
  EXPECT_EQ(callbacks_.local_replies_, 0);
}

struct RoutingCase {
  const char* host;
  const char* target;
  const char* route;  // "" when no rule matches
  const char* forwarded_path;
};

TEST_F(PathPrefixRouterTest, FirstMatchTable) {
  // The seed's example-config.yml, in its order.
  configure({
      route("localhost/https", "localhost", "/https", fallback_, true),
      route("localhost/", "localhost", "/", fallback_),
      route("admin.localhost/payments", "admin.localhost", "/payments", fallback_),
      route("admin.localhost/users", "admin.localhost", "/users", users_),
      route("admin.localhost/long", "admin.localhost", "/long", fallback_),
      route("admin.localhost/", "admin.localhost", "/", fallback_),
      route("public", "", "/public/", fallback_, true),
  });
  const RoutingCase cases[] = {
      {"localhost", "/https/posts/1", "localhost/https", "/posts/1"},
      {"localhost:8021", "/https", "localhost/https", "/"},
      {"localhost", "/httpsx", "localhost/https", "/x"},
      {"localhost", "/http", "localhost/", "/http"},
      {"localhost", "/public/x", "localhost/", "/public/x"},  // host rule "/" comes first
      {"admin.localhost", "/users", "admin.localhost/users", "/users"},
      {"admin.localhost", "/users2", "admin.localhost/users", "/users2"},
      {"admin.localhost", "/user", "admin.localhost/", "/user"},
      {"admin.localhost", "/payments/../users/1", "admin.localhost/users", "/users/1"},
      {"admin.localhost", "/long/./a/", "admin.localhost/long", "/long/a/"},
      {"ADMIN.localhost.", "/payments", "admin.localhost/payments", "/payments"},
      {"other.localhost", "/public/x?q", "public", "/x?q"},
      {"other.localhost", "/public", "", ""},
      {"other.localhost", "/users", "", ""},
      {"", "/users", "", ""},
  };
  for (const RoutingCase& c : cases) {
    SCOPED_TRACE(std::string(c.host) + " " + c.target);
    callbacks_.route_ = nullptr;
    callbacks_.stream_info_ = http::StreamInfo{};
    EXPECT_EQ(request(c.host, c.target), http::FilterHeadersStatus::kContinue);
    if (*c.route == '\0') {
      EXPECT_EQ(callbacks_.route_, nullptr);
      EXPECT_EQ(headers_->path(), c.target);  // untouched
      EXPECT_EQ(callbacks_.stream_info_.route_name, "");
      continue;
    }
    ASSERT_NE(callbacks_.route_, nullptr);
    EXPECT_EQ(callbacks_.route_->name(), c.route);
    EXPECT_EQ(callbacks_.stream_info_.route_name, c.route);
    EXPECT_EQ(headers_->path(), c.forwarded_path);
  }
}

TEST_F(PathPrefixRouterTest, EarlierRouterDecides) {
  configure({route("all", "", "/", users_, true)});
  auto earlier =
      std::make_shared<proxy::router::RouteImpl>("vhost", "host_router", fallback_, false);
  callbacks_.route_ = earlier;
  callbacks_.stream_info_.route_name = "vhost";
  EXPECT_CALL(callbacks_, setRoute(_)).Times(0);
  EXPECT_CALL(callbacks_, sendLocalReply(_, _)).Times(0);
  // Not even a bad path is looked at: the earlier router answered for the request.
  EXPECT_EQ(request("x", "/a/../../b"), http::FilterHeadersStatus::kContinue);
  EXPECT_EQ(headers_->path(), "/a/../../b");
  EXPECT_EQ(request("x", "/a/./b"), http::FilterHeadersStatus::kContinue);
  EXPECT_EQ(headers_->path(), "/a/./b");
  EXPECT_EQ(callbacks_.route_, earlier);
  EXPECT_EQ(callbacks_.stream_info_.route_name, "vhost");
}

TEST_F(PathPrefixRouterTest, PathAboveRootIs400) {
  configure({route("all", "", "/", users_)});
  EXPECT_CALL(callbacks_, setRoute(_)).Times(0);
  EXPECT_CALL(callbacks_, sendLocalReply(400, _));
  EXPECT_EQ(request("x", "/../etc/passwd"), http::FilterHeadersStatus::kStopIteration);
  EXPECT_EQ(callbacks_.local_reply_code_, 400);
  EXPECT_EQ(callbacks_.route_, nullptr);
  EXPECT_EQ(callbacks_.stream_info_.failure, http::RequestFailure::kRequestRejected);
  EXPECT_EQ(callbacks_.stream_info_.rejection, "path_above_root");
}

TEST_F(PathPrefixRouterTest, PathAboveRootIs400EvenWithoutRules) {
  configure({});
  EXPECT_EQ(request("x", "/a/../.."), http::FilterHeadersStatus::kStopIteration);
  EXPECT_EQ(callbacks_.local_reply_code_, 400);
  EXPECT_EQ(request("x", "/a"), http::FilterHeadersStatus::kContinue);
  EXPECT_EQ(callbacks_.route_, nullptr);
}

TEST_F(PathPrefixRouterTest, AbsoluteFormBecomesOriginFormWithItsHost) {
  configure({route("users", "admin.localhost", "/users", users_, true)});
  EXPECT_EQ(request("ignored.example", "http://admin.localhost:8021/users/1?x"),
            http::FilterHeadersStatus::kContinue);
  ASSERT_NE(callbacks_.route_, nullptr);
  EXPECT_EQ(headers_->path(), "/1?x");
  EXPECT_EQ(headers_->get("host"), "admin.localhost:8021");
  EXPECT_EQ(headers_->count("host"), 1u);
}

TEST_F(PathPrefixRouterTest, PreserveHostIsOnTheRoute) {
  PrefixRoute preserving = route("p", "", "/", users_);
  preserving.preserve_host = true;
  configure({preserving});
  request("a", "/");
  ASSERT_NE(callbacks_.route_, nullptr);
  EXPECT_TRUE(callbacks_.route_->preserveHost());
}

TEST_F(PathPrefixRouterTest, BodyAndTrailersPassThrough) {
  configure({route("all", "", "/", users_)});
  http::HeaderMap trailers;
  auto data = buffer::create();
  data->add("body");
  EXPECT_EQ(filter_->decodeData(*data, false), http::FilterDataStatus::kContinue);
  EXPECT_EQ(data->length(), 4u);
  EXPECT_EQ(filter_->decodeTrailers(trailers), http::FilterTrailersStatus::kContinue);
  filter_->onDestroy();
}

// The filter's whole lookup (config, matcher, entries) against a scan of the rules in order.
TEST_F(PathPrefixRouterTest, MatchesLinearScanOnRandomRules) {
  const char* hosts[] = {"", "", "a.com", "b.com", "c.com"};
  const std::string alphabet = "ab/";
  std::mt19937 random(99);
  auto randomPath = [&](int min_extra, int max_extra) {
    std::string path = "/";
    for (int n = min_extra + static_cast<int>(random() % (max_extra - min_extra + 1)); n > 0; --n) {
      path += alphabet[random() % alphabet.size()];
    }
    return path;
  };
  std::vector<PrefixRoute> routes;
  for (int i = 0; i < 500; ++i) {
    routes.push_back(route("r" + std::to_string(i), hosts[random() % std::size(hosts)],
                           randomPath(2, 5), users_, random() % 2 == 0));
  }
  configure(routes);
  const char* request_hosts[] = {"", "a.com", "B.com:80", "c.com.", "d.com"};
  int misses = 0;
  for (int q = 0; q < 5000; ++q) {
    std::string host = request_hosts[random() % std::size(request_hosts)];
    std::string path = randomPath(0, 7);
    std::string normalized_host = host == "B.com:80" ? "b.com" : host == "c.com." ? "c.com" : host;
    const PrefixRoute* expected = nullptr;
    for (const PrefixRoute& r : routes) {
      if ((r.host.empty() || r.host == normalized_host) && path.starts_with(r.prefix)) {
        expected = &r;
        break;
      }
    }
    callbacks_.route_ = nullptr;
    request(host, path);
    SCOPED_TRACE(host + " " + path);
    if (expected == nullptr) {
      ASSERT_EQ(callbacks_.route_, nullptr);
      ++misses;
      continue;
    }
    ASSERT_NE(callbacks_.route_, nullptr);
    ASSERT_EQ(callbacks_.route_->name(), expected->name);
    std::string forwarded = path;
    if (expected->strip_prefix) {
      forwarded = path.substr(expected->prefix.size());
      if (forwarded.empty() || forwarded.front() != '/') {
        forwarded = "/" + forwarded;
      }
    }
    ASSERT_EQ(headers_->path(), forwarded);
  }
  // Both outcomes occur often enough for the comparison to mean something.
  EXPECT_GT(misses, 500);
  EXPECT_LT(misses, 4500);
}

}  // namespace
}  // namespace proxy::filters::path_prefix_router
