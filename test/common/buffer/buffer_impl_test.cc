#include "common/buffer/buffer_impl.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace proxy::buffer {
namespace {

TEST(OwnedBufferTest, AddDrainAndCopyOutAcrossSlices) {
  OwnedBuffer buffer;
  std::string big(OwnedBuffer::kSliceSize * 2 + 17, 'a');
  for (size_t i = 0; i < big.size(); ++i) {
    big[i] = static_cast<char>('a' + i % 26);
  }
  buffer.add(big);
  EXPECT_EQ(big.size(), buffer.length());
  EXPECT_EQ(big, buffer.toString());
  std::string middle(100, '\0');
  buffer.copyOut(OwnedBuffer::kSliceSize - 50, 100, middle.data());
  EXPECT_EQ(big.substr(OwnedBuffer::kSliceSize - 50, 100), middle);
  buffer.drain(OwnedBuffer::kSliceSize + 3);
  EXPECT_EQ(big.substr(OwnedBuffer::kSliceSize + 3), buffer.toString());
  buffer.drain(buffer.length());
  EXPECT_EQ(0u, buffer.length());
  RawSlice slice;
  EXPECT_EQ(0u, buffer.getRawSlices(&slice, 1));
}

TEST(OwnedBufferTest, StandardSliceFreedOnThisThreadIsReusedByTheNextBuffer) {
  // The per-thread slice cache: a request's reads do not each cost a 16 KiB malloc. Counted
  // through the cache's own hits and misses: pointer equality alone could come from malloc.
  {
    OwnedBuffer warm;  // the cache holds at least one slice from here on
    warm.reserve(100);
    warm.commit(0);
  }
  SliceCacheStats before = sliceCacheStats();
  ASSERT_GT(before.cached, 0u);
  void* first = nullptr;
  {
    OwnedBuffer buffer;
    first = buffer.reserve(100).iov_base;
    buffer.commit(10);
    EXPECT_EQ(before.hits + 1, sliceCacheStats().hits);
    EXPECT_EQ(before.cached - 1, sliceCacheStats().cached);
    buffer.drain(10);  // empty: the slice goes back to the cache
    EXPECT_EQ(before.cached, sliceCacheStats().cached);
  }
  OwnedBuffer next;
  EXPECT_EQ(first, next.reserve(100).iov_base);
  next.commit(0);
  EXPECT_EQ(before.hits + 2, sliceCacheStats().hits);
  EXPECT_EQ(before.misses, sliceCacheStats().misses);
  // A slice bigger than the standard size is not cached, and still works.
  OwnedBuffer big;
  std::string bytes(OwnedBuffer::kSliceSize * 3, 'b');
  big.add(bytes);
  EXPECT_EQ(bytes, big.toString());
  EXPECT_EQ(before.hits + 2, sliceCacheStats().hits);
  EXPECT_EQ(before.misses, sliceCacheStats().misses);
}

TEST(OwnedBufferTest, SliceCacheKeepsAtMostItsCapacityAfterABurst) {
  // A burst of many buffers holding a slice each, then all idle: the cache keeps a bounded
  // number of slices and frees the rest, so idle memory does not remember the burst.
  constexpr size_t kBurst = kSliceCacheCapacity * 4;
  {
    std::vector<std::unique_ptr<OwnedBuffer>> burst;
    for (size_t i = 0; i < kBurst; ++i) {
      burst.push_back(std::make_unique<OwnedBuffer>());
      burst.back()->add("x", 1);
    }
    SliceCacheStats during = sliceCacheStats();
    EXPECT_EQ(0u, during.cached);
  }
  EXPECT_EQ(kSliceCacheCapacity, sliceCacheStats().cached);
  // And the next burst takes them back before allocating.
  SliceCacheStats before = sliceCacheStats();
  {
    std::vector<std::unique_ptr<OwnedBuffer>> burst;
    for (size_t i = 0; i < kSliceCacheCapacity + 2; ++i) {
      burst.push_back(std::make_unique<OwnedBuffer>());
      burst.back()->add("y", 1);
    }
  }
  EXPECT_EQ(before.hits + kSliceCacheCapacity, sliceCacheStats().hits);
  EXPECT_EQ(before.misses + 2, sliceCacheStats().misses);
}

TEST(OwnedBufferTest, ManySlicesGrowTheSliceListPastItsCachedLength) {
  OwnedBuffer buffer;
  std::string expected;
  for (int i = 0; i < 10; ++i) {
    OwnedBuffer piece;
    std::string bytes(OwnedBuffer::kSliceSize, static_cast<char>('a' + i));
    piece.add(bytes);
    buffer.move(piece);  // whole slices are handed over: 10 slices in the list
    expected += bytes;
  }
  EXPECT_EQ(expected, buffer.toString());
  buffer.drain(buffer.length());
  EXPECT_EQ(0u, buffer.length());
}

TEST(OwnedBufferTest, MoveTransfersEverythingAndEmptiesSource) {
  OwnedBuffer source;
  OwnedBuffer dest;
  dest.add("head-");
  source.add(std::string(OwnedBuffer::kSliceSize, 'x'));
  source.add("tail");
  dest.move(source);
  EXPECT_EQ(0u, source.length());
  EXPECT_EQ(5 + OwnedBuffer::kSliceSize + 4, dest.length());
  EXPECT_EQ("head-", dest.toString().substr(0, 5));
  EXPECT_EQ("tail", dest.toString().substr(dest.length() - 4));
}

TEST(OwnedBufferTest, PartialMoveSplitsASlice) {
  OwnedBuffer source;
  OwnedBuffer dest;
  source.add("0123456789");
  dest.move(source, 4);
  EXPECT_EQ("0123", dest.toString());
  EXPECT_EQ("456789", source.toString());
}

TEST(OwnedBufferTest, LinearizeJoinsSlices) {
  OwnedBuffer buffer;
  OwnedBuffer other;
  buffer.add(std::string(OwnedBuffer::kSliceSize, 'a'));
  other.add(std::string(OwnedBuffer::kSliceSize, 'b'));
  buffer.move(other);
  auto* joined = static_cast<char*>(buffer.linearize(OwnedBuffer::kSliceSize + 10));
  EXPECT_EQ('a', joined[OwnedBuffer::kSliceSize - 1]);
  EXPECT_EQ('b', joined[OwnedBuffer::kSliceSize + 9]);
  EXPECT_EQ(2 * OwnedBuffer::kSliceSize, buffer.length());
}

TEST(OwnedBufferTest, ReserveWithoutCommitLeavesNothingBehind) {
  OwnedBuffer buffer;
  iovec space = buffer.reserve(4096);
  EXPECT_GE(space.iov_len, 4096u);
  buffer.commit(0);
  EXPECT_EQ(0u, buffer.length());
  iovec iov[4];
  EXPECT_EQ(0, buffer.fillIovec(iov, 4));
  space = buffer.reserve(10);
  std::memcpy(space.iov_base, "hello", 5);
  buffer.commit(5);
  EXPECT_EQ("hello", buffer.toString());
  EXPECT_EQ(1, buffer.fillIovec(iov, 4));
}

TEST(OwnedBufferTest, ManySmallMovesAreCoalesced) {
  OwnedBuffer dest;
  for (int i = 0; i < 100; ++i) {
    OwnedBuffer small;
    small.add("abc");
    dest.move(small);
  }
  EXPECT_EQ(300u, dest.length());
  RawSlice slices[8];
  EXPECT_EQ(1u, dest.getRawSlices(slices, 8));
}

}  // namespace
}  // namespace proxy::buffer
