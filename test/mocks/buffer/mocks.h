#pragma once

#include <gmock/gmock.h>

#include <string>

#include "api/buffer/buffer.h"

namespace proxy::buffer {

// A buffer whose every method, by default, is done by a real buffer (real_, from
// buffer::create()), so a test can expect a call (a drain, a move) and still see real bytes.
class MockBuffer : public Instance {
 public:
  MockBuffer();
  ~MockBuffer() override;

  // buffer::Instance
  MOCK_METHOD(void, add, (const void* data, size_t size), (override));
  using Instance::add;
  MOCK_METHOD(void, move, (Instance & other), (override));
  MOCK_METHOD(void, move, (Instance & other, size_t length), (override));
  MOCK_METHOD(void, drain, (size_t size), (override));
  MOCK_METHOD(void, copyOut, (size_t start, size_t size, void* out), (const, override));
  MOCK_METHOD(size_t, length, (), (const, override));
  MOCK_METHOD(size_t, getRawSlices, (RawSlice * out, size_t max_slices), (const, override));
  MOCK_METHOD(void*, linearize, (size_t size), (override));
  MOCK_METHOD(std::string, toString, (), (const, override));

  InstancePtr real_;
};

}  // namespace proxy::buffer
