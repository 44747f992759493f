#include "test/mocks/buffer/mocks.h"

using testing::_;

namespace proxy::buffer {

MockBuffer::MockBuffer() : real_(create()) {
  ON_CALL(*this, add(_, _)).WillByDefault([this](const void* data, size_t size) {
    real_->add(data, size);
  });
  ON_CALL(*this, move(_)).WillByDefault([this](Instance& other) { real_->move(other); });
  ON_CALL(*this, move(_, _)).WillByDefault([this](Instance& other, size_t length) {
    real_->move(other, length);
  });
  ON_CALL(*this, drain(_)).WillByDefault([this](size_t size) { real_->drain(size); });
  ON_CALL(*this, copyOut(_, _, _)).WillByDefault([this](size_t start, size_t size, void* out) {
    real_->copyOut(start, size, out);
  });
  ON_CALL(*this, length()).WillByDefault([this]() { return real_->length(); });
  ON_CALL(*this, getRawSlices(_, _)).WillByDefault([this](RawSlice* out, size_t max_slices) {
    return real_->getRawSlices(out, max_slices);
  });
  ON_CALL(*this, linearize(_)).WillByDefault([this](size_t size) {
    return real_->linearize(size);
  });
  ON_CALL(*this, toString()).WillByDefault([this]() { return real_->toString(); });
}

MockBuffer::~MockBuffer() = default;

}  // namespace proxy::buffer
