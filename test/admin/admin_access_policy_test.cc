#include "admin/admin_access_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

namespace proxy::admin {
namespace {

using Endpoint = AdminAccessPolicy::Endpoint;
using testing::HasSubstr;

using Headers = std::initializer_list<std::pair<std::string, std::string>>;

std::unique_ptr<http::RequestHeaderMap> request(std::string_view method, std::string_view path,
                                                Headers headers) {
  auto map = std::make_unique<http::RequestHeaderMap>();
  map->setMethod(method);
  map->setPath(path);
  for (const auto& [name, value] : headers) {
    map->add(name, value);
  }
  return map;
}

class AdminAccessPolicyTest : public testing::Test {
 protected:
  // The status check() gives: 0 when served.
  int statusOf(const AdminAccessPolicy& policy, std::string_view method, std::string_view path,
               Headers headers, bool read_only = false) {
    auto map = request(method, path, headers);
    return policy.check(AdminAccessPolicy::endpointOf(path), *map, read_only).status;
  }

  AdminAccessPolicy open_{{}, ""};
  AdminAccessPolicy allowing_{{"reverse-proxy", "proxy.internal"}, ""};
  AdminAccessPolicy token_{{}, "s3cret"};
};

// --- Host allow-list ---

TEST_F(AdminAccessPolicyTest, IpLiteralsAndLocalhostAreAllowedWithOrWithoutPort) {
  for (const char* host : {"127.0.0.1", "127.0.0.1:42007", "10.1.2.3:80", "[::1]", "[::1]:42007",
                           "[fe80::1]:1", "localhost", "localhost:42007", "LocalHost.:42007"}) {
    EXPECT_TRUE(open_.hostAllowed(host)) << host;
  }
}

TEST_F(AdminAccessPolicyTest, OtherNamesAreRefusedUnlessAllowed) {
  // What a DNS-rebinding page sends: its own name, now pointing at this address.
  for (const char* host : {"evil.example", "evil.example:42007", "reverse-proxy:42007",
                           "x.localhost", "localhost.evil.example", "127.0.0.1.evil.example"}) {
    EXPECT_FALSE(open_.hostAllowed(host)) << host;
  }
  EXPECT_TRUE(allowing_.hostAllowed("reverse-proxy:42007"));
  EXPECT_TRUE(allowing_.hostAllowed("Proxy.Internal"));
  EXPECT_TRUE(allowing_.hostAllowed("proxy.internal."));
  EXPECT_FALSE(allowing_.hostAllowed("other.internal"));
  EXPECT_FALSE(allowing_.hostAllowed("sub.proxy.internal"));
}

TEST_F(AdminAccessPolicyTest, MissingEmptyOrMalformedHostIsRefused) {
  for (const char* host : {"", ":42007", "localhost:", "localhost:42a", "localhost:1:2", "[::1",
                           "[::1]x", "local host", "0x7f.1", "[not-v6]"}) {
    EXPECT_FALSE(open_.hostAllowed(host)) << host;
  }
  EXPECT_FALSE(open_.hostAllowed(std::nullopt));
}

TEST_F(AdminAccessPolicyTest, ConfigEndpointsWithANonLocalHostAre403) {
  for (const char* path : {"/reload", "/config_dump", "/route"}) {
    EXPECT_EQ(statusOf(open_, "GET", path, {{"Host", "evil.example:42007"}}), 403) << path;
    EXPECT_EQ(statusOf(allowing_, "GET", path, {{"Host", "reverse-proxy:42007"}}), 0) << path;
  }
  auto map = request("GET", "/config_dump", {{"Host", "evil.example"}});
  EXPECT_THAT(open_.check(Endpoint::kConfigDump, *map, false).body, HasSubstr("Host"));
}

TEST_F(AdminAccessPolicyTest, ForwardedHostIsCheckedLikeHost) {
  // This proxy's own router in front: Host rewritten to the admin address, the client's Host
  // (a rebinding page's name) in X-Forwarded-Host.
  EXPECT_EQ(statusOf(open_, "GET", "/config_dump",
                     {{"Host", "127.0.0.1:42007"}, {"X-Forwarded-Host", "evil.example:8021"}}),
            403);
  EXPECT_EQ(statusOf(open_, "GET", "/config_dump",
                     {{"Host", "127.0.0.1:42007"}, {"X-Forwarded-Host", "localhost:8021"}}),
            0);
  // Every element of a list, and every header.
  EXPECT_EQ(statusOf(allowing_, "GET", "/reload",
                     {{"Host", "127.0.0.1"}, {"X-Forwarded-Host", "proxy.internal, evil.example"}}),
            403);
  EXPECT_EQ(statusOf(allowing_, "GET", "/reload",
                     {{"Host", "127.0.0.1"},
                      {"X-Forwarded-Host", "proxy.internal"},
                      {"x-forwarded-host", "evil.example"}}),
            403);
  EXPECT_EQ(statusOf(allowing_, "GET", "/reload",
                     {{"Host", "127.0.0.1"}, {"X-Forwarded-Host", "proxy.internal, 10.0.0.1:80"}}),
            0);
  // Not the probes' concern.
  EXPECT_EQ(statusOf(open_, "GET", "/metrics", {{"X-Forwarded-Host", "evil.example"}}), 0);
}

TEST_F(AdminAccessPolicyTest, ProbesAnswerAnyHost) {
  for (const char* path : {"/metrics", "/ready", "/healthz"}) {
    EXPECT_EQ(statusOf(open_, "GET", path, {{"Host", "reverse-proxy:42007"}}), 0) << path;
    EXPECT_EQ(statusOf(open_, "GET", path, {}), 0) << path;
  }
}

// --- Browser-originated requests ---

TEST_F(AdminAccessPolicyTest, OriginHeaderIsRefusedOnConfigEndpoints) {
  for (const char* path : {"/reload", "/config_dump", "/route"}) {
    EXPECT_EQ(statusOf(open_, "POST", path,
                       {{"Host", "127.0.0.1:42007"}, {"Origin", "http://evil.example"}}),
              403)
        << path;
  }
  // Even "null" (a sandboxed page) and the admin API's own origin: it serves no pages.
  EXPECT_EQ(statusOf(open_, "GET", "/config_dump", {{"Host", "localhost"}, {"origin", "null"}}),
            403);
  EXPECT_EQ(statusOf(open_, "GET", "/config_dump",
                     {{"Host", "localhost"}, {"Origin", "http://localhost:42007"}}),
            403);
}

TEST_F(AdminAccessPolicyTest, SecFetchSiteOtherThanNoneOrSameOriginIsRefused) {
  for (const char* site : {"cross-site", "same-site", "Cross-Site", "anything"}) {
    EXPECT_EQ(statusOf(open_, "GET", "/reload", {{"Host", "localhost"}, {"Sec-Fetch-Site", site}}),
              403)
        << site;
  }
  // A URL typed into the address bar, or a bookmark: none.
  for (const char* site : {"none", "same-origin", " None "}) {
    EXPECT_EQ(statusOf(open_, "GET", "/route", {{"Host", "localhost"}, {"Sec-Fetch-Site", site}}),
              0)
        << site;
  }
  // One bad value among several is enough.
  EXPECT_EQ(
      statusOf(
          open_, "GET", "/reload",
          {{"Host", "localhost"}, {"Sec-Fetch-Site", "none"}, {"sec-fetch-site", "cross-site"}}),
      403);
}

TEST_F(AdminAccessPolicyTest, BrowserHeadersDoNotMatterToProbes) {
  EXPECT_EQ(statusOf(open_, "GET", "/metrics",
                     {{"Origin", "http://evil.example"}, {"Sec-Fetch-Site", "cross-site"}}),
            0);
}

// --- Token ---

TEST_F(AdminAccessPolicyTest, WithATokenConfigEndpointsNeedTheBearerToken) {
  for (const char* path : {"/reload", "/config_dump", "/route"}) {
    EXPECT_EQ(statusOf(token_, "GET", path, {{"Host", "127.0.0.1"}}), 401) << path;
    EXPECT_EQ(
        statusOf(token_, "GET", path, {{"Host", "127.0.0.1"}, {"Authorization", "Bearer s3cret"}}),
        0)
        << path;
  }
  auto map = request("GET", "/reload", {{"Host", "127.0.0.1"}});
  EXPECT_THAT(token_.check(Endpoint::kReload, *map, false).body, HasSubstr("Bearer"));
}

TEST_F(AdminAccessPolicyTest, WrongOrMalformedTokensAreRefused) {
  for (const char* value : {"Bearer s3cre", "Bearer s3cret2", "Bearer S3CRET", "Bearer", "Bearer ",
                            "Bearers3cret", "Basic s3cret", "s3cret", "Bearer s3 cret", ""}) {
    auto map = request("GET", "/reload", {{"Authorization", value}});
    EXPECT_FALSE(token_.tokenAccepted(*map)) << value;
  }
  // The scheme is case-insensitive; surrounding blanks do not matter.
  for (const char* value : {"bearer s3cret", "BEARER  s3cret ", "Bearer\ts3cret"}) {
    auto map = request("GET", "/reload", {{"Authorization", value}});
    EXPECT_TRUE(token_.tokenAccepted(*map)) << value;
  }
  // Two Authorization headers: ambiguous, refused.
  auto twice = request("GET", "/reload",
                       {{"Authorization", "Bearer s3cret"}, {"Authorization", "Bearer s3cret"}});
  EXPECT_FALSE(token_.tokenAccepted(*twice));
}

TEST_F(AdminAccessPolicyTest, TokenIsNotAskedOfProbesOrWithoutTokenFile) {
  for (const char* path : {"/metrics", "/ready", "/healthz"}) {
    EXPECT_EQ(statusOf(token_, "GET", path, {}), 0) << path;
  }
  EXPECT_EQ(statusOf(open_, "GET", "/reload", {{"Host", "127.0.0.1"}}), 0);
  EXPECT_FALSE(open_.requiresToken());
  EXPECT_TRUE(token_.requiresToken());
}

TEST_F(AdminAccessPolicyTest, HostAndBrowserChecksComeBeforeTheToken) {
  // A page must learn nothing, not even that a token is wanted.
  EXPECT_EQ(statusOf(token_, "GET", "/reload", {{"Host", "evil.example"}}), 403);
  EXPECT_EQ(statusOf(token_, "GET", "/reload",
                     {{"Host", "127.0.0.1"},
                      {"Origin", "http://evil.example"},
                      {"Authorization", "Bearer s3cret"}}),
            403);
}

// --- Methods ---

TEST_F(AdminAccessPolicyTest, ReloadTakesPostAndGetButNeverHead) {
  EXPECT_EQ(statusOf(open_, "POST", "/reload", {{"Host", "localhost"}}), 0);
  EXPECT_EQ(statusOf(open_, "GET", "/reload", {{"Host", "localhost"}}), 0);
  for (const char* method : {"HEAD", "PUT", "DELETE", "OPTIONS"}) {
    auto map = request(method, "/reload", {{"Host", "localhost"}});
    AdminAccessPolicy::Verdict verdict = open_.check(Endpoint::kReload, *map, false);
    EXPECT_EQ(verdict.status, 405) << method;
    EXPECT_EQ(verdict.allow, "POST, GET") << method;
  }
}

TEST_F(AdminAccessPolicyTest, ReadEndpointsTakeGetAndHead) {
  for (const char* path : {"/metrics", "/ready", "/healthz", "/config_dump", "/route"}) {
    EXPECT_EQ(statusOf(open_, "GET", path, {{"Host", "localhost"}}), 0) << path;
    EXPECT_EQ(statusOf(open_, "HEAD", path, {{"Host", "localhost"}}), 0) << path;
    EXPECT_EQ(statusOf(open_, "POST", path, {{"Host", "localhost"}}), 405) << path;
  }
  EXPECT_EQ(AdminAccessPolicy::checkMethod(Endpoint::kMetrics, "DELETE").allow, "GET, HEAD");
}

// --- Paths and the read-only address ---

TEST_F(AdminAccessPolicyTest, UnknownPathsAre404) {
  EXPECT_EQ(statusOf(open_, "GET", "/", {{"Host", "localhost"}}), 404);
  EXPECT_EQ(statusOf(open_, "GET", "/metrics/", {{"Host", "localhost"}}), 404);
  EXPECT_EQ(AdminAccessPolicy::endpointOf("/reload"), Endpoint::kReload);
  EXPECT_EQ(AdminAccessPolicy::endpointOf("/RELOAD"), Endpoint::kUnknown);
}

TEST_F(AdminAccessPolicyTest, ReadOnlyAddressServesOnlyTheProbes) {
  for (const char* path : {"/metrics", "/ready", "/healthz"}) {
    EXPECT_EQ(statusOf(open_, "GET", path, {{"Host", "10.0.0.5:9902"}}, true), 0) << path;
  }
  for (const char* path : {"/reload", "/config_dump", "/route", "/nope"}) {
    // Even from localhost with the right token.
    EXPECT_EQ(statusOf(token_, "GET", path,
                       {{"Host", "localhost"}, {"Authorization", "Bearer s3cret"}}, true),
              404)
        << path;
  }
}

}  // namespace
}  // namespace proxy::admin
