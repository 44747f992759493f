#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace proxy::event {

// Bits of readiness reported for a file descriptor.
struct FileReadyType {
  static constexpr uint32_t kRead = 0x1;
  static constexpr uint32_t kWrite = 0x2;
  // The peer hung up (both ways, or only its write side: a FIN) or the socket has an error.
  static constexpr uint32_t kClosed = 0x4;
};

using FileReadyCb = std::function<void(uint32_t events)>;

enum class FileTriggerType {
  kEdge,   // reported once per change of readiness: read or write until EAGAIN
  kLevel,  // reported while ready (listen sockets, which accept a bounded batch per event)
};

// Readiness notification for one descriptor; destroying it unregisters the
// descriptor (it does not close it). Called and destroyed on its dispatcher's thread.
class FileEvent {
 public:
  virtual ~FileEvent() = default;

  // Changes the set of FileReadyType bits watched. After re-enabling, an event is reported
  // again if the descriptor is ready.
  virtual void setEnabled(uint32_t events) = 0;

  // Reports `events` to the callback later in the current loop iteration, as if the
  // descriptor had become ready; used to coalesce writes and to resume reading.
  virtual void activate(uint32_t events) = 0;

  // The owner is about to close the descriptor (and it is not shared): closing removes it
  // from the poll set, so the destructor may skip unregistering it.
  virtual void descriptorClosing() {}
};

using FileEventPtr = std::unique_ptr<FileEvent>;

}  // namespace proxy::event
