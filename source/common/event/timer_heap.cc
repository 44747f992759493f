#include "common/event/timer_heap.h"

#include <cassert>
#include <utility>

namespace proxy::event {

void TimerHeap::push(Entry& entry, MonotonicTime due) {
  assert(!entry.inHeap());
  entry.due = due;
  entries_.push_back(&entry);
  entry.index = static_cast<uint32_t>(entries_.size() - 1);
  siftUp(entry.index);
}

void TimerHeap::update(Entry& entry, MonotonicTime due) {
  assert(entry.inHeap() && entries_[entry.index] == &entry);
  bool earlier = due < entry.due;
  entry.due = due;
  if (earlier) {
    siftUp(entry.index);
  } else {
    siftDown(entry.index);
  }
}

void TimerHeap::remove(Entry& entry) {
  assert(entry.inHeap() && entries_[entry.index] == &entry);
  uint32_t index = entry.index;
  Entry* last = entries_.back();
  entries_.pop_back();
  entry.index = Entry::kNotInHeap;
  if (last == &entry) {
    return;
  }
  // The last entry fills the hole and moves whichever way its key says.
  place(index, last);
  siftUp(index);
  siftDown(last->index);
}

void TimerHeap::siftUp(uint32_t index) {
  Entry* entry = entries_[index];
  while (index > 0) {
    uint32_t parent = (index - 1) / 2;
    if (!(entry->due < entries_[parent]->due)) {
      break;
    }
    place(index, entries_[parent]);
    index = parent;
  }
  place(index, entry);
}

void TimerHeap::siftDown(uint32_t index) {
  Entry* entry = entries_[index];
  const uint32_t count = static_cast<uint32_t>(entries_.size());
  while (true) {
    uint32_t child = 2 * index + 1;
    if (child >= count) {
      break;
    }
    if (child + 1 < count && entries_[child + 1]->due < entries_[child]->due) {
      ++child;
    }
    if (!(entries_[child]->due < entry->due)) {
      break;
    }
    place(index, entries_[child]);
    index = child;
  }
  place(index, entry);
}

}  // namespace proxy::event
