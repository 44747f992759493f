#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http/recycled_memory.h"

namespace proxy::http {

// Case-insensitive ASCII comparison of header names.
inline bool headerNameEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') {
      x = static_cast<char>(x + 32);
    }
    if (y >= 'A' && y <= 'Z') {
      y = static_cast<char>(y + 32);
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

// HTTP headers in arrival order, duplicates kept, names compared case-insensitively.
//
// Entries are string views into memory the map owns: the codec copies a message's header
// bytes into the map's arena in one block (or a few), not a heap string per header, and
// every added or rewritten value goes into the same arena. Views returned by get() are
// valid until the map is destroyed (old values are not freed when replaced; the arena is
// freed with the map). Not thread-safe: a map belongs to one stream on one worker.
//
// Every request makes and frees a few maps: the map, its entry list and its first arena
// block come from per-thread caches (recycled_memory.h) and go back to them, so a map
// costs no allocation once a worker has served a request.
class HeaderMap : public RecycledObject {
 public:
  struct Entry {
    std::string_view name;
    std::string_view value;
  };

  HeaderMap() = default;
  HeaderMap(const HeaderMap&) = delete;
  HeaderMap& operator=(const HeaderMap&) = delete;
  virtual ~HeaderMap() {
    EntryLists::give(entries_);
    while (arena_ != nullptr) {
      Block* previous = arena_->previous;
      RecycledBlocks::give(arena_, arena_->size);
      arena_ = previous;
    }
  }

  // Appends a header, copying name and value into the arena.
  void add(std::string_view name, std::string_view value) {
    append(Entry{store(name), store(value)});
  }
  // Appends a header whose bytes already live in storage this map owns (see store()).
  void addStored(std::string_view name, std::string_view value) { append(Entry{name, value}); }
  // Replaces every header of that name with one (appended where the first one was).
  void set(std::string_view name, std::string_view value) {
    std::string_view stored = store(value);
    bool replaced = false;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (headerNameEquals(it->name, name)) {
        if (!replaced) {
          it->value = stored;
          replaced = true;
          ++it;
        } else {
          it = entries_.erase(it);
        }
      } else {
        ++it;
      }
    }
    if (!replaced) {
      append(Entry{store(name), stored});
    }
  }
  // Removes every header of that name; returns how many there were.
  size_t remove(std::string_view name) {
    size_t before = entries_.size();
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                  [&](const Entry& e) { return headerNameEquals(e.name, name); }),
                   entries_.end());
    return before - entries_.size();
  }
  // Removes every header for which `pred(entry)` is true, in one pass; returns how many.
  template <class Predicate>
  size_t removeIf(Predicate pred) {
    size_t before = entries_.size();
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(), pred), entries_.end());
    return before - entries_.size();
  }
  // The first value of that name.
  std::optional<std::string_view> get(std::string_view name) const {
    for (const Entry& e : entries_) {
      if (headerNameEquals(e.name, name)) {
        return e.value;
      }
    }
    return std::nullopt;
  }
  size_t count(std::string_view name) const {
    size_t n = 0;
    for (const Entry& e : entries_) {
      n += headerNameEquals(e.name, name) ? 1 : 0;
    }
    return n;
  }
  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  // Copies `bytes` into the arena and returns a view of the copy.
  std::string_view store(std::string_view bytes) {
    if (bytes.empty()) {
      return {};
    }
    if (arena_ == nullptr || arena_->size - arena_->used < bytes.size()) {
      addBlock(bytes.size());
    }
    char* at = reinterpret_cast<char*>(arena_) + arena_->used;
    std::memcpy(at, bytes.data(), bytes.size());
    arena_->used += bytes.size();
    return std::string_view(at, bytes.size());
  }

 private:
  // Out of line: store() runs for every token of every message, and stays small without it.
  [[gnu::noinline]] void addBlock(size_t bytes) {
    // Blocks are of a cached size (512 B, then 2 KiB) unless one value is bigger.
    const size_t wanted = sizeof(Block) + bytes;
    const size_t size = std::max(wanted, arena_ == nullptr ? kFirstBlock : kNextBlock);
    arena_ = new (RecycledBlocks::take(size)) Block{arena_, size, sizeof(Block)};
  }

  void append(Entry entry) {
    if (entries_.capacity() == 0) {
      // A typical message has 5 to 20 headers: room for 16, from the thread's cache,
      // instead of growing 1, 2, 4...
      entries_ = EntryLists::take();
    }
    entries_.push_back(entry);
  }

  static constexpr size_t kTypicalHeaderCount = 16;
  using EntryLists = RecycledVectors<Entry, kTypicalHeaderCount>;
  static constexpr size_t kFirstBlock = 512;
  static constexpr size_t kNextBlock = 2048;
  // The arena: blocks chained newest first, each headed by this (bytes follow it).
  struct Block {
    Block* previous;
    size_t size;  // of the whole block, as taken from RecycledBlocks
    size_t used;  // including this header
  };
  std::vector<Entry> entries_;
  Block* arena_ = nullptr;
};

// A request's headers and its request line.
class RequestHeaderMap : public HeaderMap {
 public:
  std::string_view method() const { return method_; }
  // The request target as sent (origin form "/a?b", or absolute form "http://h/a").
  std::string_view path() const { return path_; }
  void setMethod(std::string_view method) { method_ = store(method); }
  void setPath(std::string_view path) { path_ = store(path); }
  void setMethodStored(std::string_view method) { method_ = method; }
  void setPathStored(std::string_view path) { path_ = path; }
  // 10 for HTTP/1.0, 11 for HTTP/1.1.
  int version() const { return version_; }
  void setVersion(int version) { version_ = version; }

 private:
  std::string_view method_;
  std::string_view path_;
  int version_ = 11;
};

// A response's headers and its status.
class ResponseHeaderMap : public HeaderMap {
 public:
  int status() const { return status_; }
  void setStatus(int status) { status_ = status; }
  int version() const { return version_; }
  void setVersion(int version) { version_ = version; }

 private:
  int status_ = 200;
  int version_ = 11;
};

using HeaderMapPtr = std::unique_ptr<HeaderMap>;
using RequestHeaderMapPtr = std::unique_ptr<RequestHeaderMap>;
using ResponseHeaderMapPtr = std::unique_ptr<ResponseHeaderMap>;

}  // namespace proxy::http
