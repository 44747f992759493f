#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "api/buffer/buffer.h"

namespace proxy::buffer {

// Frees a buffer slice's memory, or keeps a standard-size block for reuse by the next
// buffer on the same thread (buffer_impl.cc's SlicePool).
struct SliceDeleter {
  size_t capacity = 0;
  void operator()(uint8_t* block) const;
};

// This thread's cache of freed standard-size slices (buffer_impl.cc): how many slices were
// taken from it (hits) or had to be allocated (misses), and how many it holds now.
struct SliceCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  size_t cached = 0;
};
SliceCacheStats sliceCacheStats();
// The most slices the cache keeps per thread: a burst of concurrent requests leaves at most
// this many 16 KiB blocks behind on an idle worker.
inline constexpr size_t kSliceCacheCapacity = 8;

// The array behind a buffer's slice list comes from a small per-thread cache when it has the
// usual capacity (buffer_impl.cc): a buffer gives its array back whenever it empties, so an
// idle connection's buffers hold no memory, and the next request takes it back for free.
// Lists of kCachedSliceListLength entries are the cached ones.
inline constexpr size_t kCachedSliceListLength = 4;
void* takeSliceList(size_t length, size_t entry_size);
void giveSliceList(void* list, size_t length, size_t entry_size);

template <class T>
struct SliceListAllocator {
  using value_type = T;
  SliceListAllocator() = default;
  template <class U>
  SliceListAllocator(const SliceListAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(takeSliceList(n, sizeof(T))); }
  void deallocate(T* list, size_t n) noexcept { giveSliceList(list, n, sizeof(T)); }
  template <class U>
  bool operator==(const SliceListAllocator<U>&) const noexcept {
    return true;
  }
};

// A buffer made of heap slices. Moving between OwnedBuffers hands over whole
// slices; reads from a socket go straight into reserved space at the back, so bytes are
// copied only when a filter asks for contiguous memory. Empty slices are freed at once,
// so an empty buffer holds no memory.
class OwnedBuffer final : public Instance {
 public:
  // The size of a fresh slice; a read reserves one of these.
  static constexpr size_t kSliceSize = 16 * 1024;

  OwnedBuffer() = default;
  OwnedBuffer(const OwnedBuffer&) = delete;
  OwnedBuffer& operator=(const OwnedBuffer&) = delete;

  // buffer::Instance
  void add(const void* data, size_t size) override;
  using Instance::add;
  void move(Instance& other) override;
  void move(Instance& other, size_t length) override;
  void drain(size_t size) override;
  void copyOut(size_t start, size_t size, void* out) const override;
  size_t length() const override { return length_; }
  size_t getRawSlices(RawSlice* out, size_t max_slices) const override;
  void* linearize(size_t size) override;
  std::string toString() const override;

  // Writable space of at least `min_size` bytes at the back, for a read(2); commit() what
  // was written. The space is freed again if nothing is committed.
  iovec reserve(size_t min_size);
  void commit(size_t size);

  // Fills `iov` with the front slices for writev(2); returns how many were filled.
  int fillIovec(iovec* iov, int max_iov) const;

 private:
  struct Slice {
    std::unique_ptr<uint8_t[], SliceDeleter> storage;
    size_t capacity = 0;
    size_t start = 0;  // first unread byte
    size_t end = 0;    // one past the last written byte

    size_t size() const { return end - start; }
    size_t tailroom() const { return capacity - end; }
    uint8_t* data() const { return storage.get() + start; }
  };

  static Slice newSlice(size_t min_capacity);
  void pushBack(Slice slice);
  void dropEmptyTail();
  void popFront();

  // A vector, not a deque: an empty std::deque still allocates, and a buffer rarely holds
  // more than a few slices, so erasing at the front is cheap.
  std::vector<Slice, SliceListAllocator<Slice>> slices_;
  size_t length_ = 0;
};

}  // namespace proxy::buffer
