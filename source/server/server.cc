#include "server/server.h"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "admin/prometheus_exposition.h"

namespace proxy::server {

void blockServerSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGQUIT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // Writes to a closed peer return EPIPE to the connection instead of killing the process.
  signal(SIGPIPE, SIG_IGN);
}

Server::Server(Config config, Poco::Logger& logger) : config_(std::move(config)), logger_(logger) {}

Server::~Server() { shutdown(); }

void Server::start() {
  uint32_t worker_count = config_.workers;
  if (worker_count == 0) {
    worker_count = std::max(1u, std::thread::hardware_concurrency());
  }
  store_ = std::make_unique<stats::StoreImpl>(worker_count);
  snapshot_ = buildSnapshot(config_, *store_);
  listener_manager_.bind(*snapshot_);

  std::vector<std::shared_ptr<prometheus::Collectable>> collectables{
      std::make_shared<admin::StatsCollector>(*store_),
      std::make_shared<admin::ProcessCollector>()};
  admin::AdminServer::Hooks hooks;
  hooks.ready = [this] { return ready_.load(); };
  hooks.snapshot = [this] { return currentSnapshot(); };
  try {
    admin_ = std::make_unique<admin::AdminServer>(config_.admin_address, collectables, hooks);
  } catch (const Poco::Exception& error) {
    throw std::runtime_error("admin API: cannot listen on " + config_.admin_address.toString() +
                             ": " + error.displayText());
  }

  for (uint32_t i = 0; i < worker_count; ++i) {
    workers_.push_back(std::make_unique<Worker>(i));
    workers_.back()->start();
  }
  listener_manager_.start(*snapshot_, workers_);
  admin_->start();
  for (size_t i = 0; i < snapshot_->listeners.size(); ++i) {
    logger_.information("listener " + snapshot_->listeners[i]->config.name + " on " +
                        listener_manager_.sockets()[i].address.asString());
  }
  logger_.information("admin API on " + admin_->boundAddress() + "; " +
                      std::to_string(worker_count) + " workers");
  ready_ = true;
}

SnapshotConstSharedPtr Server::currentSnapshot() const {
  // Set once in start() before the admin API starts; a reload will swap it atomically.
  return snapshot_;
}

int Server::waitForShutdown() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGQUIT);
  sigaddset(&set, SIGHUP);
  // The signals are blocked in every thread; a signalfd hands them to the main loop.
  const int signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) {
    throw std::runtime_error(std::string("signalfd: ") + strerror(errno));
  }
  event::FileEventPtr signal_event = main_dispatcher_.createFileEvent(
      signal_fd,
      [this, signal_fd](uint32_t) {
        signalfd_siginfo info;
        while (read(signal_fd, &info, sizeof(info)) == sizeof(info)) {
          onSignal(static_cast<int>(info.ssi_signo));
        }
      },
      event::FileTriggerType::kLevel, event::FileReadyType::kRead);
  main_dispatcher_.run();
  signal_event.reset();
  close(signal_fd);
  shutdown();
  return 0;
}

void Server::onSignal(int signal_number) {
  if (signal_number == SIGHUP) {
    logger_.warning("SIGHUP received: configuration reload is not available in this build");
    return;
  }
  logger_.information(std::string(strsignal(signal_number)) + " received: draining for up to " +
                      std::to_string(config_.shutdown_timeout.count()) + " ms");
  main_dispatcher_.exit();
}

void Server::shutdown() {
  if (workers_.empty()) {
    if (admin_ != nullptr) {
      admin_->stop();
    }
    return;
  }
  ready_ = false;
  listener_manager_.stopAccepting(workers_);
  for (auto& worker : workers_) {
    worker->drainConnections();
  }

  // Let open connections finish on their own, within shutdown_timeout.
  const auto deadline = std::chrono::steady_clock::now() + config_.shutdown_timeout;
  auto open = [this] {
    uint64_t total = 0;
    for (auto& worker : workers_) {
      total += worker->openConnections();
    }
    return total;
  };
  while (open() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (uint64_t remaining = open(); remaining > 0) {
    logger_.information("shutdown_timeout reached: closing " + std::to_string(remaining) +
                        " connections");
  }
  for (auto& worker : workers_) {
    worker->closeAllConnections();
  }
  for (auto& worker : workers_) {
    worker->stop();
  }
  workers_.clear();
  admin_->stop();
  logger_.information("stopped");
}

}  // namespace proxy::server
