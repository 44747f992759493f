#pragma once

#include <cstdint>
#include <vector>

#include "api/event/dispatcher.h"

namespace proxy::event {

// The dispatcher's pending timer entries, earliest first: a binary min-heap of pointers to
// entries that live inside their timers. An entry costs one pointer in the heap's array and
// no allocation of its own (a std::multimap node cost 64 bytes per armed timer, and every
// idle keep-alive connection has one armed).
class TimerHeap {
 public:
  // Embedded in each timer. `due` is the key; the heap keeps `index` current.
  struct Entry {
    static constexpr uint32_t kNotInHeap = UINT32_MAX;
    MonotonicTime due{};
    uint32_t index = kNotInHeap;
    bool inHeap() const { return index != kNotInHeap; }
  };

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  // The earliest entry; the heap must not be empty.
  Entry& top() const { return *entries_.front(); }

  // Adds `entry` (not in the heap) due at `due`.
  void push(Entry& entry, MonotonicTime due);
  // Moves `entry` (in the heap) to `due`, earlier or later.
  void update(Entry& entry, MonotonicTime due);
  // Takes `entry` (in the heap) out.
  void remove(Entry& entry);

 private:
  void place(uint32_t index, Entry* entry) {
    entries_[index] = entry;
    entry->index = index;
  }
  void siftUp(uint32_t index);
  void siftDown(uint32_t index);

  std::vector<Entry*> entries_;
};

}  // namespace proxy::event
