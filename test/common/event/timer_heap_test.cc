#include "common/event/timer_heap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace proxy::event {
namespace {

MonotonicTime at(int ms) { return MonotonicTime(std::chrono::milliseconds(ms)); }

TEST(TimerHeapTest, TopIsTheEarliestThroughPushUpdateAndRemove) {
  TimerHeap heap;
  TimerHeap::Entry a, b, c;
  EXPECT_TRUE(heap.empty());
  heap.push(a, at(30));
  heap.push(b, at(10));
  heap.push(c, at(20));
  EXPECT_EQ(&b, &heap.top());
  heap.update(b, at(40));  // later: sinks
  EXPECT_EQ(&c, &heap.top());
  heap.update(a, at(5));  // earlier: rises
  EXPECT_EQ(&a, &heap.top());
  heap.remove(a);
  EXPECT_FALSE(a.inHeap());
  EXPECT_EQ(&c, &heap.top());
  heap.remove(b);  // the last slot
  heap.remove(c);
  EXPECT_TRUE(heap.empty());
  EXPECT_FALSE(c.inHeap());
}

TEST(TimerHeapTest, RandomOperationsMatchAnOrderedSet) {
  // The heap against a reference: after every operation the top has the least due time.
  std::mt19937 random(7);
  constexpr int kEntries = 200;
  std::vector<std::unique_ptr<TimerHeap::Entry>> entries;
  for (int i = 0; i < kEntries; ++i) {
    entries.push_back(std::make_unique<TimerHeap::Entry>());
  }
  TimerHeap heap;
  std::set<std::pair<MonotonicTime, TimerHeap::Entry*>> reference;
  for (int step = 0; step < 20000; ++step) {
    TimerHeap::Entry& entry = *entries[random() % kEntries];
    MonotonicTime due = at(static_cast<int>(random() % 1000));
    int op = static_cast<int>(random() % 3);
    if (!entry.inHeap()) {
      heap.push(entry, due);
      reference.emplace(due, &entry);
    } else if (op == 0) {
      reference.erase({entry.due, &entry});
      heap.remove(entry);
    } else {
      reference.erase({entry.due, &entry});
      heap.update(entry, due);
      reference.emplace(due, &entry);
    }
    ASSERT_EQ(reference.size(), heap.size());
    if (!reference.empty()) {
      ASSERT_EQ(reference.begin()->first, heap.top().due);
    }
  }
  // Popping everything gives the due times in order.
  std::vector<MonotonicTime> popped;
  while (!heap.empty()) {
    popped.push_back(heap.top().due);
    heap.remove(heap.top());
  }
  EXPECT_TRUE(std::is_sorted(popped.begin(), popped.end()));
  EXPECT_EQ(reference.size(), popped.size());
}

}  // namespace
}  // namespace proxy::event
