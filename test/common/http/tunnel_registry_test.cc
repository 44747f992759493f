#include "common/http/tunnel_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "test/mocks/event/mocks.h"
#include "test/mocks/upstream/mocks.h"

namespace proxy::http {
namespace {

using testing::NiceMock;

TEST(TunnelRegistryTest, KnowsEachConnectionsTunnelClusterUntilItEnds) {
  TunnelRegistry registry;
  auto chat = std::make_shared<NiceMock<upstream::MockCluster>>("chat");
  auto feed = std::make_shared<NiceMock<upstream::MockCluster>>("feed");
  EXPECT_EQ(nullptr, registry.clusterOf(7));
  registry.add(7, chat);
  registry.add(9, feed);
  EXPECT_EQ(chat.get(), registry.clusterOf(7));
  EXPECT_EQ(feed.get(), registry.clusterOf(9));
  EXPECT_EQ(nullptr, registry.clusterOf(8));
  EXPECT_EQ(2u, registry.size());
  registry.remove(7);
  registry.remove(7);  // twice is harmless
  registry.remove(8);  // so is a connection without a tunnel
  EXPECT_EQ(nullptr, registry.clusterOf(7));
  EXPECT_EQ(feed.get(), registry.clusterOf(9));
  EXPECT_EQ(1u, registry.size());
}

TEST(TunnelRegistryTest, KeepsTheClusterAliveWhileTheTunnelRuns) {
  TunnelRegistry registry;
  auto chat = std::make_shared<NiceMock<upstream::MockCluster>>("chat");
  std::weak_ptr<upstream::Cluster> watch = chat;
  registry.add(1, std::move(chat));
  EXPECT_FALSE(watch.expired());
  registry.remove(1);
  EXPECT_TRUE(watch.expired());
}

TEST(TunnelRegistryTest, OnePerDispatcherUntilReleased) {
  NiceMock<event::MockDispatcher> first;
  NiceMock<event::MockDispatcher> second;
  TunnelRegistry& registry = TunnelRegistry::forDispatcher(first);
  EXPECT_EQ(&registry, &TunnelRegistry::forDispatcher(first));
  EXPECT_NE(&registry, &TunnelRegistry::forDispatcher(second));
  registry.add(3, std::make_shared<NiceMock<upstream::MockCluster>>("chat"));
  TunnelRegistry::releaseDispatcher(first);
  // A registry made afresh: nothing left from the released one.
  EXPECT_EQ(nullptr, TunnelRegistry::forDispatcher(first).clusterOf(3));
  TunnelRegistry::releaseDispatcher(first);
  TunnelRegistry::releaseDispatcher(second);
}

}  // namespace
}  // namespace proxy::http
