#include "common/network/listener_impl.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace proxy::network {
namespace {
constexpr int kMaxAcceptsPerEvent = 64;
}

ListenerImpl::ListenerImpl(event::Dispatcher& dispatcher, int listen_fd, AcceptCb on_accept)
    : dispatcher_(dispatcher), listen_fd_(listen_fd), on_accept_(std::move(on_accept)) {
  file_event_ = dispatcher_.createFileEvent(
      listen_fd_, [this](uint32_t) { onReadable(); }, event::FileTriggerType::kLevel,
      event::FileReadyType::kRead);
  backoff_timer_ = dispatcher_.createTimer([this] {
    if (enabled_) {
      file_event_->setEnabled(event::FileReadyType::kRead);
    }
  });
}

ListenerImpl::~ListenerImpl() = default;

void ListenerImpl::disable() {
  enabled_ = false;
  backoff_timer_->disableTimer();
  file_event_->setEnabled(0);
}

void ListenerImpl::enable() {
  enabled_ = true;
  file_event_->setEnabled(event::FileReadyType::kRead);
}

void ListenerImpl::onReadable() {
  for (int i = 0; i < kMaxAcceptsPerEvent && enabled_; ++i) {
    sockaddr_storage remote{};
    socklen_t len = sizeof(remote);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&remote), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: a level-triggered listener would spin. Pause briefly; the
        // kernel keeps the pending connections in the backlog meanwhile.
        file_event_->setEnabled(0);
        backoff_timer_->enableTimer(std::chrono::milliseconds(100));
      }
      // EAGAIN: another worker took it, or the backlog is empty. ECONNABORTED and the
      // like concern only that one connection.
      return;
    }
    on_accept_(fd, Address(reinterpret_cast<sockaddr*>(&remote), len));
  }
}

}  // namespace proxy::network
