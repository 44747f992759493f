#pragma once

#include <bit>
#include <cstddef>
#include <new>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define PROXY_POISON_RECYCLED(block, size) ASAN_POISON_MEMORY_REGION(block, size)
#define PROXY_UNPOISON_RECYCLED(block, size) ASAN_UNPOISON_MEMORY_REGION(block, size)
#else
#define PROXY_POISON_RECYCLED(block, size) ((void)(block), (void)(size))
#define PROXY_UNPOISON_RECYCLED(block, size) ((void)(block), (void)(size))
#endif

namespace proxy::http {

// Memory for the small objects every request makes and frees (header maps and their
// storage, the stream, its filter entries, its filters, the server codec): a per-thread
// stack of freed blocks for each power-of-two size from 32 B to 2 KiB. A worker serves one
// request after another, so the next request takes back the blocks the last one gave, and
// the allocator is not involved at all. Each stack holds at most kMaxPerClass blocks (about
// 250 KiB per thread if every stack is full); bigger objects go to the allocator. A block
// may be freed on another thread than the one that took it: it joins that thread's stack.
// Header-only, so plugins built against api/ get the same behaviour. Under AddressSanitizer
// a cached block is poisoned, so a use after free is still caught.
class RecycledBlocks {
 public:
  static constexpr size_t kMinBlock = 32;
  static constexpr size_t kClasses = 7;
  static constexpr size_t kMaxBlock = kMinBlock << (kClasses - 1);  // 2 KiB
  static constexpr size_t kMaxPerClass = 64;

  static void* take(size_t size) {
    if (size > kMaxBlock) {
      return ::operator new(size);
    }
    const size_t index = classOf(size);
    Stack& stack = cache().stacks[index];
    if (stack.count == 0) {
      return ::operator new(kMinBlock << index);
    }
    void* block = stack.blocks[--stack.count];
    PROXY_UNPOISON_RECYCLED(block, kMinBlock << index);
    return block;
  }

  // `size` is the one given to take().
  static void give(void* block, size_t size) noexcept {
    if (block == nullptr) {
      return;
    }
    if (size <= kMaxBlock) {
      const size_t index = classOf(size);
      Cache& all = cache();
      Stack& stack = all.stacks[index];
      if (stack.count < kMaxPerClass && !all.closed) {
        PROXY_POISON_RECYCLED(block, kMinBlock << index);
        stack.blocks[stack.count++] = block;
        return;
      }
    }
    ::operator delete(block);
  }

  // The blocks this thread holds for objects of `size` bytes (for tests).
  static size_t cachedFor(size_t size) {
    return size > kMaxBlock ? 0 : cache().stacks[classOf(size)].count;
  }
  // Frees every block this thread holds (for tests that count from zero).
  static void releaseThreadCache() { cache().freeAll(); }

 private:
  struct Stack {
    void* blocks[kMaxPerClass];
    size_t count = 0;
  };
  struct Cache {
    ~Cache() {
      freeAll();
      closed = true;  // an object destroyed later in this thread's exit frees its own block
    }
    void freeAll() {
      for (size_t index = 0; index < kClasses; ++index) {
        Stack& stack = stacks[index];
        while (stack.count > 0) {
          void* block = stack.blocks[--stack.count];
          PROXY_UNPOISON_RECYCLED(block, kMinBlock << index);
          ::operator delete(block);
        }
      }
    }
    Stack stacks[kClasses];
    bool closed = false;
  };

  static size_t classOf(size_t size) {
    return size <= kMinBlock ? 0 : static_cast<size_t>(std::bit_width(size - 1)) - 5;
  }
  static Cache& cache() {
    thread_local Cache cache;
    return cache;
  }
};

// A standard allocator over RecycledBlocks, for containers and std::allocate_shared.
template <class T>
struct RecyclingAllocator {
  using value_type = T;
  RecyclingAllocator() = default;
  template <class U>
  RecyclingAllocator(const RecyclingAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(RecycledBlocks::take(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { RecycledBlocks::give(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const RecyclingAllocator<U>&) const noexcept {
    return true;
  }
};

// A base that makes `new` and `delete` of a class (and of classes derived from it) use
// RecycledBlocks. The deleting destructor passes the most derived size, so a polymorphic
// class needs a virtual destructor, as it would anyway.
class RecycledObject {
 public:
  static void* operator new(size_t size) { return RecycledBlocks::take(size); }
  static void operator delete(void* block, size_t size) noexcept {
    RecycledBlocks::give(block, size);
  }
};

// Emptied vectors with their capacity, kept per thread for the next user of the same type:
// a vector that grows per request (a header list) then costs no allocation. Those grown
// beyond kMaxCapacity elements are freed instead.
template <class T, size_t kMaxCapacity, size_t kMaxVectors = 64>
class RecycledVectors {
 public:
  // An empty vector, with room for kMaxCapacity elements when one was kept.
  static std::vector<T> take() {
    Cache& all = cache();
    if (all.count == 0) {
      std::vector<T> fresh;
      fresh.reserve(kMaxCapacity);
      return fresh;
    }
    return std::move(all.vectors[--all.count]);
  }
  static void give(std::vector<T>& vector) noexcept {
    if (vector.capacity() == 0) {
      return;
    }
    Cache& all = cache();
    if (vector.capacity() != kMaxCapacity || all.count == kMaxVectors || all.closed) {
      return;  // the caller's vector frees its memory
    }
    vector.clear();
    all.vectors[all.count++] = std::move(vector);
    vector = std::vector<T>();
  }
  static size_t cached() { return cache().count; }

 private:
  struct Cache {
    ~Cache() { closed = true; }
    std::vector<T> vectors[kMaxVectors];
    size_t count = 0;
    bool closed = false;
  };
  static Cache& cache() {
    thread_local Cache cache;
    return cache;
  }
};

}  // namespace proxy::http
