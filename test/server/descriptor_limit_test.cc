#include "server/descriptor_limit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

namespace proxy::server {
namespace {

Config withListeners(std::initializer_list<uint32_t> limits) {
  Config config;
  for (uint32_t limit : limits) {
    ListenerConfig listener;
    listener.max_connections = limit;
    config.listeners.push_back(listener);
  }
  return config;
}

TEST(DescriptorLimitTest, NeedsTwoPerConnectionPlusAReserve) {
  EXPECT_EQ(DescriptorLimit::needed(withListeners({})), 256u);
  EXPECT_EQ(DescriptorLimit::needed(withListeners({100, 1000})), 256u + 2 * 1100);
}

TEST(DescriptorLimitTest, WarnsOnlyWhenTheListenersDoNotFit) {
  const Config config = withListeners({1000, 500});
  EXPECT_FALSE(DescriptorLimit::warning(config, 3256, 4096).has_value());
  EXPECT_FALSE(DescriptorLimit::warning(config, RLIM_INFINITY, RLIM_INFINITY).has_value());
  std::optional<std::string> warning = DescriptorLimit::warning(config, 1024, 4096);
  ASSERT_TRUE(warning.has_value());
  EXPECT_EQ(*warning,
            "descriptor limit (RLIMIT_NOFILE) is 1024 (hard 4096), but the listeners' "
            "max_connections (1500 in all), each with an upstream connection, may need about "
            "3256: beyond the limit new connections fail with local_resource_exhausted; raise "
            "the limit (ulimit -n, systemd LimitNOFILE=) or lower max_connections");
}

// The soft limit is raised to the hard one. Run in a child so the test process keeps its
// own limits.
TEST(DescriptorLimitTest, RaisesTheSoftLimitToTheHardOne) {
  EXPECT_EXIT(
      {
        rlimit low{};
        ::getrlimit(RLIMIT_NOFILE, &low);
        low.rlim_cur = 64;
        if (low.rlim_max < 64 || ::setrlimit(RLIMIT_NOFILE, &low) != 0) {
          _exit(2);
        }
        const DescriptorLimit limit = DescriptorLimit::raise();
        rlimit now{};
        ::getrlimit(RLIMIT_NOFILE, &now);
        _exit(limit.before == 64 && limit.soft == low.rlim_max && now.rlim_cur == low.rlim_max &&
                      limit.error.empty()
                  ? 0
                  : 1);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace proxy::server
