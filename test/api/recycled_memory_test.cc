#include "api/http/recycled_memory.h"

#include <gtest/gtest.h>

#include <vector>

namespace proxy::http {
namespace {

class RecycledBlocksTest : public testing::Test {
 protected:
  // Each test counts from an empty cache.
  RecycledBlocksTest() { RecycledBlocks::releaseThreadCache(); }
  ~RecycledBlocksTest() override { RecycledBlocks::releaseThreadCache(); }
};

TEST_F(RecycledBlocksTest, AFreedBlockIsTheNextOneOfItsSizeClass) {
  void* first = RecycledBlocks::take(100);
  RecycledBlocks::give(first, 100);
  EXPECT_EQ(1u, RecycledBlocks::cachedFor(100));
  // 100 and 120 bytes are both in the 128-byte class.
  void* second = RecycledBlocks::take(120);
  EXPECT_EQ(first, second);
  EXPECT_EQ(0u, RecycledBlocks::cachedFor(100));
  // Another class does not see it.
  RecycledBlocks::give(second, 120);
  void* other = RecycledBlocks::take(200);
  EXPECT_NE(first, other);
  RecycledBlocks::give(other, 200);
}

TEST_F(RecycledBlocksTest, EachSizeClassKeepsAtMostItsBound) {
  std::vector<void*> blocks;
  for (size_t i = 0; i < RecycledBlocks::kMaxPerClass + 10; ++i) {
    blocks.push_back(RecycledBlocks::take(64));
  }
  for (void* block : blocks) {
    RecycledBlocks::give(block, 64);
  }
  EXPECT_EQ(RecycledBlocks::kMaxPerClass, RecycledBlocks::cachedFor(64));
}

TEST_F(RecycledBlocksTest, BigBlocksAreNotKept) {
  const size_t big = RecycledBlocks::kMaxBlock + 1;
  RecycledBlocks::give(RecycledBlocks::take(big), big);
  EXPECT_EQ(0u, RecycledBlocks::cachedFor(big));
  // The largest cached size is kept.
  RecycledBlocks::give(RecycledBlocks::take(RecycledBlocks::kMaxBlock), RecycledBlocks::kMaxBlock);
  EXPECT_EQ(1u, RecycledBlocks::cachedFor(RecycledBlocks::kMaxBlock));
}

struct Recycled : public RecycledObject {
  explicit Recycled(int v) : value(v) {}
  int value;
  char padding[40] = {};
};

TEST_F(RecycledBlocksTest, ARecycledObjectReusesTheMemoryOfTheLastOneAndIsConstructedAfresh) {
  auto* first = new Recycled(1);
  delete first;
  auto* second = new Recycled(2);
  EXPECT_EQ(static_cast<void*>(first), static_cast<void*>(second));
  EXPECT_EQ(2, second->value);
  delete second;
}

TEST_F(RecycledBlocksTest, AllocateSharedGoesThroughTheCache) {
  const void* where = nullptr;
  {
    auto shared = std::allocate_shared<Recycled>(RecyclingAllocator<Recycled>(), 5);
    where = shared.get();
  }
  auto again = std::allocate_shared<Recycled>(RecyclingAllocator<Recycled>(), 6);
  EXPECT_EQ(where, again.get());
  EXPECT_EQ(6, again->value);
}

TEST(RecycledVectorsTest, AVectorComesBackEmptyWithItsCapacity) {
  using Vectors = RecycledVectors<int, 8, 2>;
  std::vector<int> first = Vectors::take();
  EXPECT_EQ(8u, first.capacity());
  first.push_back(1);
  first.push_back(2);
  const int* storage = first.data();
  Vectors::give(first);
  EXPECT_EQ(0u, first.capacity());  // handed over
  std::vector<int> second = Vectors::take();
  EXPECT_TRUE(second.empty());
  EXPECT_EQ(storage, second.data());
  Vectors::give(second);
  EXPECT_EQ(1u, Vectors::cached());
  // A vector grown past the usual capacity keeps its memory (and frees it itself).
  std::vector<int> grown = Vectors::take();
  for (int i = 0; i < 20; ++i) {
    grown.push_back(i);
  }
  Vectors::give(grown);
  EXPECT_EQ(20u, grown.size());
  EXPECT_EQ(0u, Vectors::cached());
}

TEST(RecycledVectorsTest, KeepsAtMostItsBound) {
  using Vectors = RecycledVectors<char, 4, 2>;
  std::vector<char> a = Vectors::take();
  std::vector<char> b = Vectors::take();
  std::vector<char> c = Vectors::take();
  Vectors::give(a);
  Vectors::give(b);
  Vectors::give(c);
  EXPECT_EQ(2u, Vectors::cached());
  EXPECT_EQ(4u, c.capacity());  // not taken: freed with c
}

}  // namespace
}  // namespace proxy::http
