#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace proxy::buffer {

// A contiguous run of bytes inside a Buffer, valid until the buffer is next modified.
struct RawSlice {
  void* mem = nullptr;
  size_t len = 0;
};

// A byte queue made of slices. Bytes are appended at the back and drained from the front;
// moving one buffer into another transfers slices without copying. An empty buffer holds no
// memory, so idle connections cost nothing here. Not thread-safe: a buffer belongs to the
// worker that owns the connection or stream using it.
class Instance {
 public:
  virtual ~Instance() = default;

  // Copies `size` bytes to the back.
  virtual void add(const void* data, size_t size) = 0;
  void add(std::string_view data) { add(data.data(), data.size()); }

  // Moves every byte of `other` to the back of this buffer; `other` is left empty.
  virtual void move(Instance& other) = 0;
  // Moves at most `length` bytes from the front of `other`.
  virtual void move(Instance& other, size_t length) = 0;

  // Removes `size` bytes from the front (at most length()).
  virtual void drain(size_t size) = 0;

  // Copies `size` bytes starting at `start` into `out`; the range must lie inside the buffer.
  virtual void copyOut(size_t start, size_t size, void* out) const = 0;

  virtual size_t length() const = 0;

  // Up to `max_slices` slices covering the front of the buffer; returns how many exist in all.
  virtual size_t getRawSlices(RawSlice* out, size_t max_slices) const = 0;

  // Makes the first `size` bytes contiguous and returns them (may copy).
  virtual void* linearize(size_t size) = 0;

  // The whole content as a string; for tests, logs and small control-plane payloads.
  virtual std::string toString() const = 0;
};

using InstancePtr = std::unique_ptr<Instance>;

// Creates an empty buffer. Implemented by the proxy core; plugins get the same implementation.
InstancePtr create();

}  // namespace proxy::buffer
