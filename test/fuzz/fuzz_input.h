#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "common/http/codec.h"

namespace proxy::fuzz {

// How the codec targets read a fuzzer input: the first byte steers the run, the rest is the
// bytes on the wire. Keeping the wire bytes verbatim keeps the corpus readable ("\0GET / ...")
// and lets the fuzzer change the splits with one byte:
//  - bits 0-4, the split: 0 feeds everything at once, 1 one byte at a time, others pieces of
//    pseudo-random sizes from a generator seeded by the whole byte;
//  - bit 5: small CodecLimits, so the limit checks are reached by short inputs;
//  - bits 6 and 7: left to the target (see each target's comment).
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size)
      : control_(size > 0 ? data[0] : 0),
        wire_(reinterpret_cast<const char*>(data) + (size > 0 ? 1 : 0), size > 0 ? size - 1 : 0),
        state_(control_ * 2654435761u + 1) {}

  std::string_view wire() const { return wire_; }
  bool flag6() const { return (control_ & 0x40) != 0; }
  bool flag7() const { return (control_ & 0x80) != 0; }

  http::CodecLimits limits() const {
    if ((control_ & 0x20) != 0) {
      return http::CodecLimits{256, 6, 64};
    }
    return http::CodecLimits{};
  }

  // The size of the next piece to feed, at least 1.
  size_t nextPiece(size_t remaining) {
    const uint32_t mode = control_ & 0x1f;
    if (mode == 0) {
      return remaining;
    }
    if (mode == 1) {
      return 1;
    }
    state_ = state_ * 1103515245u + 12345u;
    const size_t largest = size_t{1} << (1 + mode % 12);
    return std::min(remaining, 1 + (state_ >> 8) % largest);
  }

 private:
  const uint8_t control_;
  const std::string_view wire_;
  uint32_t state_;
};

// A broken invariant: print why and abort, which libFuzzer reports as a crash with the input.
[[noreturn]] inline void invariantFailed(const char* what) {
  std::fprintf(stderr, "fuzz invariant failed: %s\n", what);
  std::abort();
}

#define FUZZ_CHECK(condition)                                     \
  do {                                                            \
    if (!(condition)) {                                           \
      ::proxy::fuzz::invariantFailed(#condition " at " __FILE__); \
    }                                                             \
  } while (false)

}  // namespace proxy::fuzz
