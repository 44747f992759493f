#include "plugins/ip_access/ip_access.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "api/registry/config_error.h"
#include "common/buffer/buffer_impl.h"
#include "plugins/ip_access/config.h"
#include "test/mocks/network/mocks.h"
#include "test/mocks/registry/mocks.h"

namespace proxy::plugins::ip_access {
namespace {

using testing::_;
using testing::NiceMock;
using testing::StartsWith;

network::Address address(const std::string& ip) {
  if (ip.find(':') == std::string::npos) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(40000);
    EXPECT_EQ(1, inet_pton(AF_INET, ip.c_str(), &sin.sin_addr)) << ip;
    return network::Address(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(40000);
  EXPECT_EQ(1, inet_pton(AF_INET6, ip.c_str(), &sin6.sin6_addr)) << ip;
  return network::Address(reinterpret_cast<sockaddr*>(&sin6), sizeof(sin6));
}

class IpAccessFilterTest : public testing::Test {
 protected:
  void build(const std::string& yaml) {
    install_ = factory_.createFilterFactory(YAML::Load(yaml), context_);
  }

  // A new connection from `ip` through a fresh filter: true when the chain went on.
  bool connect(const std::string& ip) {
    NiceMock<network::MockFilterManager> manager;
    install_(manager);
    EXPECT_EQ(1u, manager.read_filters_.size());
    EXPECT_TRUE(manager.write_filters_.empty());
    callbacks_ = std::make_unique<NiceMock<network::MockReadFilterCallbacks>>();
    callbacks_->connection_.remote_address_ = address(ip);
    filter_ = manager.read_filters_[0];
    filter_->initializeReadFilterCallbacks(*callbacks_);
    return filter_->onNewConnection() == network::FilterStatus::kContinue;
  }

  double count(const std::string& decision) {
    for (const auto& family : context_.store_.snapshot()) {
      if (family.name != "proxy_ip_access_connections_total") {
        continue;
      }
      for (const auto& metric : family.metrics) {
        if (metric.labels ==
            stats::Labels{{"listener", context_.listener_name_}, {"decision", decision}}) {
          return metric.value;
        }
      }
    }
    return -1;
  }

  // "field: message" of the error `yaml` gives, or "(no error)".
  std::string error(const std::string& yaml) {
    try {
      factory_.createFilterFactory(YAML::Load(yaml), context_);
    } catch (const registry::ConfigError& e) {
      return e.field() + ": " + e.what();
    }
    return "(no error)";
  }

  IpAccessFactory factory_;
  NiceMock<registry::MockFactoryContext> context_;
  registry::NetworkFilterFactoryCb install_;
  std::unique_ptr<NiceMock<network::MockReadFilterCallbacks>> callbacks_;
  network::ReadFilterSharedPtr filter_;
};

TEST_F(IpAccessFilterTest, FactoryDeclaresANonTerminalFilter) {
  EXPECT_EQ("ip_access", factory_.name());
  EXPECT_FALSE(factory_.capabilities().terminal);
  EXPECT_FALSE(factory_.capabilities().reads_body);
}

TEST_F(IpAccessFilterTest, AllowedClientContinuesAndIsCounted) {
  build("{allow: [127.0.0.1], default: deny}");
  EXPECT_TRUE(connect("127.0.0.1"));
  EXPECT_EQ(network::ConnectionState::kOpen, callbacks_->connection_.state_);
  EXPECT_EQ(1, count("allowed"));
  EXPECT_EQ(0, count("denied"));
}

TEST_F(IpAccessFilterTest, DeniedClientIsClosedAtOnceWithoutFlushing) {
  build("{allow: [127.0.0.1], default: deny}");
  NiceMock<network::MockReadFilterCallbacks>* callbacks = nullptr;
  {
    NiceMock<network::MockFilterManager> manager;
    install_(manager);
    callbacks_ = std::make_unique<NiceMock<network::MockReadFilterCallbacks>>();
    callbacks = callbacks_.get();
    callbacks->connection_.remote_address_ = address("127.0.0.2");
    filter_ = manager.read_filters_[0];
  }
  EXPECT_CALL(callbacks->connection_,
              close(network::ConnectionCloseType::kNoFlush, std::string_view("ip_access_denied")));
  EXPECT_CALL(*callbacks, continueReading()).Times(0);
  filter_->initializeReadFilterCallbacks(*callbacks);
  EXPECT_EQ(network::FilterStatus::kStopIteration, filter_->onNewConnection());
  EXPECT_EQ(network::ConnectionState::kClosed, callbacks->connection_.state_);
  EXPECT_EQ(0, count("allowed"));
  EXPECT_EQ(1, count("denied"));
}

TEST_F(IpAccessFilterTest, BytesOfADeniedClientNeverPassOn) {
  build("{deny: [127.0.0.2], default: allow}");
  EXPECT_FALSE(connect("127.0.0.2"));
  buffer::OwnedBuffer data;
  data.add("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(network::FilterStatus::kStopIteration, filter_->onData(data, false));
  EXPECT_EQ(0u, data.length());
}

TEST_F(IpAccessFilterTest, BytesOfAnAllowedClientPassUntouched) {
  build("{deny: [127.0.0.2], default: allow}");
  EXPECT_TRUE(connect("127.0.0.1"));
  buffer::OwnedBuffer data;
  data.add("hello");
  EXPECT_EQ(network::FilterStatus::kContinue, filter_->onData(data, true));
  EXPECT_EQ("hello", data.toString());
}

TEST_F(IpAccessFilterTest, TheMostSpecificRangeDecides) {
  build(R"(
deny: [10.0.0.0/8, 10.1.2.3]
allow: [10.1.0.0/16]
default: allow
)");
  EXPECT_FALSE(connect("10.9.9.9"));
  EXPECT_TRUE(connect("10.1.9.9"));
  EXPECT_FALSE(connect("10.1.2.3"));
  EXPECT_TRUE(connect("192.0.2.1"));  // no range: the default
  EXPECT_EQ(2, count("allowed"));
  EXPECT_EQ(2, count("denied"));
}

TEST_F(IpAccessFilterTest, DefaultAppliesWhenNoRangeMatches) {
  build("{allow: [10.0.0.0/8], default: deny}");
  EXPECT_FALSE(connect("192.0.2.1"));
  build("{deny: [10.0.0.0/8], default: allow}");
  EXPECT_TRUE(connect("192.0.2.1"));
}

TEST_F(IpAccessFilterTest, Ipv6AndIpv4MappedClients) {
  build(R"(
allow: [127.0.0.0/8, "::1", "2001:db8::/32"]
default: deny
)");
  EXPECT_TRUE(connect("::1"));
  EXPECT_TRUE(connect("2001:db8:1::5"));
  EXPECT_FALSE(connect("2001:db9::5"));
  // A dual-stack listener sees an IPv4 client as ::ffff:a.b.c.d: the IPv4 ranges apply.
  EXPECT_TRUE(connect("::ffff:127.0.0.2"));
  EXPECT_FALSE(connect("::ffff:192.0.2.1"));
}

TEST_F(IpAccessFilterTest, CountersAreShared) {
  build("{allow: [127.0.0.1], default: deny}");
  // A second factory call for the same listener (a reload) counts into the same series.
  build("{allow: [127.0.0.1], default: deny}");
  connect("127.0.0.1");
  connect("127.0.0.3");
  EXPECT_EQ(1, count("allowed"));
  EXPECT_EQ(1, count("denied"));
}

TEST_F(IpAccessFilterTest, RefusesBadConfigsNamingTheField) {
  EXPECT_EQ(": expected a map with default and allow or deny, found nothing", error(""));
  EXPECT_EQ(": expected a map with default and allow or deny, found a list", error("[1]"));
  EXPECT_EQ("alow: unknown field, expected one of: allow, deny, default",
            error("{alow: [10.0.0.0/8], default: deny}"));
  EXPECT_THAT(error("{allow: [10.0.0.0/8]}"), StartsWith("default: required field is missing"));
  EXPECT_EQ("default: expected allow or deny, found \"reject\"",
            error("{allow: [10.0.0.0/8], default: reject}"));
  EXPECT_EQ("default: expected allow or deny, found a list",
            error("{allow: [10.0.0.0/8], default: [deny]}"));
  EXPECT_EQ(": expected at least one range in allow or deny, found none",
            error("{allow: [], default: deny}"));
  EXPECT_EQ("allow: expected a list of CIDR ranges, found \"10.0.0.0/8\"",
            error("{allow: 10.0.0.0/8, default: deny}"));
  EXPECT_EQ("deny[1]: expected a CIDR range such as \"10.0.0.0/8\", found a map",
            error("{deny: [10.0.0.0/8, {a: b}], default: allow}"));
  EXPECT_EQ(
      "deny[0]: expected a network address with no host bits set, found \"10.0.0.1/8\" "
      "(the network is 10.0.0.0/8)",
      error("{deny: [10.0.0.1/8], default: allow}"));
  EXPECT_THAT(error("{deny: [10.0.0.0/33], default: allow}"),
              StartsWith("deny[0]: expected a prefix length from 0 to 32"));
  EXPECT_EQ("allow[1]: expected each range once, found 10.0.0.0/8 already in allow",
            error("{allow: [10.0.0.0/8, 10.0.0.0/8], default: deny}"));
  EXPECT_EQ("deny[0]: expected each range once, found 127.0.0.1/32 already in allow",
            error("{allow: [127.0.0.1], deny: [127.0.0.1/32], default: deny}"));
}

}  // namespace
}  // namespace proxy::plugins::ip_access
