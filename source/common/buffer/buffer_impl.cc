#include "common/buffer/buffer_impl.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace proxy::buffer {

InstancePtr create() { return std::make_unique<OwnedBuffer>(); }

namespace {

// Standard-size slices freed on this thread, for the next buffer on the same thread. A
// request takes and frees a few slices (one per read, per copy of headers); a 16 KiB block
// is beyond malloc's per-thread caches, so without this each one costs a trip through
// malloc's bins. Bounded, so an idle worker holds at most kMaxBlocks x 16 KiB: a burst of
// concurrent requests leaves no more than that behind once its connections go idle.
class SlicePool {
 public:
  static constexpr size_t kMaxBlocks = kSliceCacheCapacity;

  ~SlicePool() {
    for (size_t i = 0; i < count_; ++i) {
      delete[] blocks_[i];
    }
    count_ = 0;
    closed_ = true;  // a buffer destroyed later in this thread's exit frees its own blocks
  }
  uint8_t* take() {
    if (count_ > 0) {
      ++stats_.hits;
      return blocks_[--count_];
    }
    ++stats_.misses;
    return new uint8_t[OwnedBuffer::kSliceSize];
  }
  void give(uint8_t* block) {
    if (count_ < kMaxBlocks && !closed_) {
      blocks_[count_++] = block;
    } else {
      delete[] block;
    }
  }
  SliceCacheStats stats() const {
    SliceCacheStats stats = stats_;
    stats.cached = count_;
    return stats;
  }

 private:
  uint8_t* blocks_[kMaxBlocks];
  size_t count_ = 0;
  bool closed_ = false;
  SliceCacheStats stats_;
};

thread_local SlicePool slice_pool;

// Slice-list arrays of the usual length, freed on this thread. All lists hold the same
// entry type, so they all have the same size.
class SliceListPool {
 public:
  static constexpr size_t kMaxLists = 64;

  ~SliceListPool() {
    for (size_t i = 0; i < count_; ++i) {
      ::operator delete(lists_[i]);
    }
    count_ = 0;
    closed_ = true;
  }
  void* take(size_t bytes) { return count_ > 0 ? lists_[--count_] : ::operator new(bytes); }
  void give(void* list) {
    if (count_ < kMaxLists && !closed_) {
      lists_[count_++] = list;
    } else {
      ::operator delete(list);
    }
  }

 private:
  void* lists_[kMaxLists];
  size_t count_ = 0;
  bool closed_ = false;
};

thread_local SliceListPool slice_list_pool;

}  // namespace

SliceCacheStats sliceCacheStats() { return slice_pool.stats(); }

void* takeSliceList(size_t length, size_t entry_size) {
  if (length == kCachedSliceListLength) {
    return slice_list_pool.take(length * entry_size);
  }
  return ::operator new(length* entry_size);
}

void giveSliceList(void* list, size_t length, size_t /*entry_size*/) {
  if (length == kCachedSliceListLength) {
    slice_list_pool.give(list);
  } else {
    ::operator delete(list);
  }
}

void SliceDeleter::operator()(uint8_t* block) const {
  if (capacity == OwnedBuffer::kSliceSize) {
    slice_pool.give(block);
  } else {
    delete[] block;
  }
}

OwnedBuffer::Slice OwnedBuffer::newSlice(size_t min_capacity) {
  Slice slice;
  slice.capacity = std::max(min_capacity, kSliceSize);
  uint8_t* block = slice.capacity == kSliceSize ? slice_pool.take() : new uint8_t[slice.capacity];
  slice.storage = std::unique_ptr<uint8_t[], SliceDeleter>(block, SliceDeleter{slice.capacity});
  return slice;
}

void OwnedBuffer::pushBack(Slice slice) {
  if (slices_.capacity() == 0) {
    // Most buffers hold one to four slices: one cached list instead of growing 1, 2, 4.
    slices_.reserve(kCachedSliceListLength);
  }
  slices_.push_back(std::move(slice));
}

void OwnedBuffer::add(const void* data, size_t size) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  if (size == 0) {
    return;
  }
  if (slices_.empty() || slices_.back().tailroom() == 0) {
    pushBack(newSlice(size));
  }
  Slice& tail = slices_.back();
  size_t first = std::min(size, tail.tailroom());
  std::memcpy(tail.storage.get() + tail.end, bytes, first);
  tail.end += first;
  if (first < size) {
    Slice next = newSlice(size - first);
    std::memcpy(next.storage.get(), bytes + first, size - first);
    next.end = size - first;
    pushBack(std::move(next));
  }
  length_ += size;
}

void OwnedBuffer::move(Instance& other) { move(other, other.length()); }

void OwnedBuffer::move(Instance& other, size_t length) {
  auto* owned = dynamic_cast<OwnedBuffer*>(&other);
  if (owned == nullptr) {
    // A foreign implementation (a test double): copy through its slices.
    length = std::min(length, other.length());
    std::string bytes(length, '\0');
    other.copyOut(0, length, bytes.data());
    add(bytes.data(), length);
    other.drain(length);
    return;
  }
  length = std::min(length, owned->length_);
  while (length > 0 && !owned->slices_.empty()) {
    Slice& front = owned->slices_.front();
    if (front.size() <= length) {
      // Small slices are copied into our tail instead of handed over, so a stream of tiny
      // writes does not become a long chain of mostly empty 16 KiB slices.
      size_t size = front.size();
      if (!slices_.empty() && slices_.back().tailroom() >= size && size < 4096) {
        Slice& tail = slices_.back();
        std::memcpy(tail.storage.get() + tail.end, front.data(), size);
        tail.end += size;
      } else {
        pushBack(std::move(front));
      }
      owned->popFront();
      owned->length_ -= size;
      length_ += size;
      length -= size;
    } else {
      add(front.data(), length);
      front.start += length;
      owned->length_ -= length;
      length = 0;
    }
  }
}

void OwnedBuffer::drain(size_t size) {
  size = std::min(size, length_);
  length_ -= size;
  while (size > 0) {
    Slice& front = slices_.front();
    if (front.size() <= size) {
      size -= front.size();
      popFront();
    } else {
      front.start += size;
      size = 0;
    }
  }
  // Leading empty slices (from reserve() without commit) are dropped too.
  while (!slices_.empty() && slices_.front().size() == 0) {
    popFront();
  }
}

void OwnedBuffer::copyOut(size_t start, size_t size, void* out) const {
  assert(start + size <= length_);
  auto* dest = static_cast<uint8_t*>(out);
  for (const Slice& slice : slices_) {
    if (size == 0) {
      break;
    }
    if (start >= slice.size()) {
      start -= slice.size();
      continue;
    }
    size_t n = std::min(size, slice.size() - start);
    std::memcpy(dest, slice.data() + start, n);
    dest += n;
    size -= n;
    start = 0;
  }
}

size_t OwnedBuffer::getRawSlices(RawSlice* out, size_t max_slices) const {
  size_t count = 0;
  for (const Slice& slice : slices_) {
    if (slice.size() == 0) {
      continue;
    }
    if (count < max_slices) {
      out[count] = RawSlice{slice.data(), slice.size()};
    }
    ++count;
  }
  return count;
}

void* OwnedBuffer::linearize(size_t size) {
  size = std::min(size, length_);
  if (slices_.empty()) {
    return nullptr;
  }
  if (slices_.front().size() >= size) {
    return slices_.front().data();
  }
  Slice joined = newSlice(size);
  copyOut(0, size, joined.storage.get());
  joined.end = size;
  size_t remaining = size;
  while (remaining > 0) {
    Slice& front = slices_.front();
    if (front.size() <= remaining) {
      remaining -= front.size();
      popFront();
    } else {
      front.start += remaining;
      remaining = 0;
    }
  }
  slices_.insert(slices_.begin(), std::move(joined));
  return slices_.front().data();
}

std::string OwnedBuffer::toString() const {
  std::string out(length_, '\0');
  copyOut(0, length_, out.data());
  return out;
}

iovec OwnedBuffer::reserve(size_t min_size) {
  if (slices_.empty() || slices_.back().tailroom() < min_size) {
    pushBack(newSlice(min_size));
  }
  Slice& tail = slices_.back();
  return iovec{tail.storage.get() + tail.end, tail.tailroom()};
}

void OwnedBuffer::commit(size_t size) {
  assert(!slices_.empty() && slices_.back().tailroom() >= size);
  slices_.back().end += size;
  length_ += size;
  dropEmptyTail();
}

void OwnedBuffer::dropEmptyTail() {
  if (!slices_.empty() && slices_.back().size() == 0) {
    slices_.pop_back();
  }
  if (slices_.empty()) {
    decltype(slices_)().swap(slices_);  // give the vector's storage back too
  }
}

void OwnedBuffer::popFront() {
  slices_.erase(slices_.begin());
  if (slices_.empty()) {
    decltype(slices_)().swap(slices_);
  }
}

int OwnedBuffer::fillIovec(iovec* iov, int max_iov) const {
  int count = 0;
  for (const Slice& slice : slices_) {
    if (count == max_iov) {
      break;
    }
    if (slice.size() == 0) {
      continue;
    }
    iov[count++] = iovec{slice.data(), slice.size()};
  }
  return count;
}

}  // namespace proxy::buffer
