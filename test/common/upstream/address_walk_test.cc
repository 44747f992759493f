#include "common/upstream/address_walk.h"

#include <gtest/gtest.h>

#include "test/mocks/upstream/mocks.h"
#include "test/support/addresses.h"

namespace proxy::upstream {
namespace {

using std::chrono::milliseconds;

network::Address v4(uint16_t port) { return test::ipv4("127.0.0.1", port); }
network::Address v6(uint16_t port) { return test::ipv6("::1", port); }

class AddressWalkTest : public testing::Test {
 protected:
  testing::NiceMock<MockHost> host_;
  AddressWalk walk_;
  AddressWalk::Clock::time_point now_ = AddressWalk::Clock::now();
};

TEST_F(AddressWalkTest, OneAddressGetsTheWholeBudgetAndNothingFollows) {
  host_.address_ = v4(80);
  walk_.start(host_, host_.address_, now_, milliseconds(5000));
  EXPECT_EQ(v4(80), walk_.current());
  EXPECT_EQ(milliseconds(5000), walk_.tryTimeout(now_));
  EXPECT_EQ(1u, walk_.attempts());
  EXPECT_FALSE(walk_.advance(now_));
  EXPECT_FALSE(walk_.moved());
}

TEST_F(AddressWalkTest, StartsAtTheGivenAddressThenTheRestInTheResolversOrder) {
  host_.addresses_ = {v6(80), v4(80), v4(81)};
  walk_.start(host_, v4(80), now_, milliseconds(30000));
  EXPECT_EQ(v4(80), walk_.current());
  ASSERT_TRUE(walk_.advance(now_));
  EXPECT_EQ(v6(80), walk_.current());
  EXPECT_TRUE(walk_.moved());
  ASSERT_TRUE(walk_.advance(now_));
  EXPECT_EQ(v4(81), walk_.current());
  EXPECT_EQ(3u, walk_.attempts());
  EXPECT_FALSE(walk_.advance(now_));
}

TEST_F(AddressWalkTest, TheBudgetIsSharedAsGoDoes) {
  host_.addresses_ = {v4(80), v6(80), v4(81)};
  walk_.start(host_, v4(80), now_, milliseconds(30000));
  // Three left: a third each.
  EXPECT_EQ(milliseconds(10000), walk_.tryTimeout(now_));
  // The first took 4 s to fail: the two left share the remaining 26 s.
  now_ += milliseconds(4000);
  ASSERT_TRUE(walk_.advance(now_));
  EXPECT_EQ(milliseconds(13000), walk_.tryTimeout(now_));
  now_ += milliseconds(1000);
  ASSERT_TRUE(walk_.advance(now_));
  EXPECT_EQ(milliseconds(25000), walk_.tryTimeout(now_));
}

TEST_F(AddressWalkTest, AShareNeverFallsBelowTheMinimumWhileTimeIsLeft) {
  host_.addresses_ = {v4(80), v6(80), v4(81), v6(81)};
  walk_.start(host_, v4(80), now_, milliseconds(5000));
  EXPECT_EQ(AddressWalk::kMinTryTime, walk_.tryTimeout(now_));
  now_ += milliseconds(4000);
  ASSERT_TRUE(walk_.advance(now_));
  EXPECT_EQ(milliseconds(1000), walk_.tryTimeout(now_)) << "no more than what is left";
}

TEST_F(AddressWalkTest, ASpentBudgetEndsTheWalk) {
  host_.addresses_ = {v4(80), v6(80)};
  walk_.start(host_, v4(80), now_, milliseconds(250));
  now_ += milliseconds(250);
  EXPECT_FALSE(walk_.advance(now_));
  EXPECT_EQ(v4(80), walk_.current());
}

TEST_F(AddressWalkTest, UnresolvedHostHasNothingToTry) {
  walk_.start(host_, host_.address_, now_, milliseconds(250));
  EXPECT_FALSE(walk_.current().valid());
  EXPECT_EQ(0u, walk_.attempts());
  EXPECT_FALSE(walk_.advance(now_));
}

}  // namespace
}  // namespace proxy::upstream
