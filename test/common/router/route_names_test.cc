#include "common/router/route_names.h"

#include <gtest/gtest.h>

namespace proxy::router {
namespace {

TEST(RouteNamesTest, DerivedNamesAvoidReservedAndEarlierOnes) {
  RouteNames names;
  EXPECT_TRUE(names.reserve("admin.localhost/users"));
  EXPECT_FALSE(names.reserve("admin.localhost/users"));
  EXPECT_EQ(names.derive("admin.localhost/users"), "admin.localhost/users_2");
  EXPECT_EQ(names.derive("admin.localhost/users"), "admin.localhost/users_3");
  EXPECT_EQ(names.derive("/"), "/");
  EXPECT_EQ(names.derive("/"), "/_2");
  EXPECT_FALSE(names.reserve("/_2"));
}

}  // namespace
}  // namespace proxy::router
