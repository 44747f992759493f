#include "server/server.h"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "admin/prometheus_exposition.h"
#include "server/config/config_loader.h"
#include "server/config/config_printer.h"
#include "server/config_diff.h"
#include "server/json_text.h"
#include "server/plugin_loader.h"

namespace proxy::server {
namespace {

// log_level is applied live, as at start-up (ProxyApplication::setUpLogging).
void applyLogLevel(const std::string& level) {
  const std::string poco_level = level == "warn"   ? "warning"
                                 : level == "info" ? "information"
                                                   : level;
  Poco::Logger::root().setLevel(poco_level);
  Poco::Logger::get("proxy").setLevel(poco_level);
}

}  // namespace

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
  generation_gauge_ = &store_->gauge(
      "proxy_config_generation", "Generation of the running config: 1 at start, +1 per reload.");
  generation_gauge_->add(static_cast<int64_t>(snapshot_->generation));
  const std::string reloads_help = "Config reloads (admin /reload and SIGHUP), by result.";
  reloads_ok_ = &store_->counter("proxy_config_reloads_total", reloads_help, {{"result", "ok"}});
  reloads_failed_ =
      &store_->counter("proxy_config_reloads_total", reloads_help, {{"result", "failed"}});

  std::vector<std::shared_ptr<prometheus::Collectable>> collectables{
      std::make_shared<admin::StatsCollector>(*store_),
      std::make_shared<admin::ProcessCollector>()};
  admin::AdminServer::Hooks hooks;
  hooks.ready = [this] { return ready_.load(); };
  hooks.reload = [this] {
    ReloadResult result = runOnMainThread([this] { return reload(); });
    return admin::AdminServer::Reply{result.ok ? 200 : 400, result.json};
  };
  hooks.config_dump = [this](bool yaml) {
    return runOnMainThread([this, yaml] { return configDump(yaml); });
  };
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
  for (const auto& listener : snapshot_->listeners) {
    logger_.information("listener " + listener->config.name + " on " +
                        listener_manager_.boundAddress(listener->config.name));
  }
  logger_.information("admin API on " + admin_->boundAddress() + "; " +
                      std::to_string(worker_count) + " workers");
  // snapshot_ is only read and replaced on the main thread, where the timer runs.
  dns_refresher_ = std::make_unique<DnsRefresher>(
      main_dispatcher_, [this] { return snapshot_; }, upstream::systemResolver(), logger_);
  dns_refresher_->start();
  ready_ = true;
}

SnapshotConstSharedPtr Server::currentSnapshot() const {
  // Admin threads read it while a reload may swap it on the main thread.
  std::lock_guard<std::mutex> lock(snapshot_mutex_);
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
  {
    // Admin threads waiting in runOnMainThread() get their answer before the loop is gone.
    std::lock_guard<std::mutex> lock(main_loop_mutex_);
    main_loop_open_ = false;
  }
  main_dispatcher_.runOnce(std::chrono::milliseconds(0));
  signal_event.reset();
  close(signal_fd);
  shutdown();
  return 0;
}

void Server::onSignal(int signal_number) {
  if (signal_number == SIGHUP) {
    ReloadResult result = reload();
    if (result.ok) {
      logger_.information("SIGHUP: " + result.log_line);
    } else {
      logger_.error("SIGHUP: " + result.log_line);
    }
    return;
  }
  logger_.information(std::string(strsignal(signal_number)) + " received: draining for up to " +
                      std::to_string(config_.shutdown_timeout.count()) + " ms");
  main_dispatcher_.exit();
}

Server::ReloadResult Server::refuseReload(const std::string& error) {
  reloads_failed_->inc();
  ReloadResult result;
  result.generation = snapshot_->generation;
  result.json = "{\"status\":\"error\",\"generation\":" + std::to_string(result.generation) +
                ",\"errors\":" + jsonStringArray({error}) + "}\n";
  result.log_line = "reload refused, generation " + std::to_string(result.generation) +
                    " still running: " + error;
  return result;
}

Server::ReloadResult Server::reload() {
  ReloadResult result;
  try {
    result = tryReload();
  } catch (const std::exception& error) {
    // Whatever went wrong before anything was applied: refused, and the main loop goes on.
    result = refuseReload(snapshot_->config.file + ": reload: " + error.what());
  }
  // Filters of plugins the reload listed stay registered only if it was applied.
  if (plugins_ != nullptr) {
    if (result.ok) {
      plugins_->commit();
    } else {
      plugins_->rollback();
    }
  }
  return result;
}

Server::ReloadResult Server::tryReload() {
  Config next_config;
  try {
    next_config =
        plugins_ != nullptr
            ? loadConfigFile(snapshot_->config.file, processEnvironment(), plugins_->stager())
            : loadConfigFile(snapshot_->config.file, processEnvironment());
    if (overrides_) {
      overrides_(next_config);
    }
  } catch (const ConfigFileError& error) {
    return refuseReload(error.what());
  }
  ConfigDiff diff = diffConfigs(snapshot_->config, next_config);
  if (plugins_ != nullptr) {
    // A library is never unloaded: a changed or removed one keeps running until a restart.
    for (auto& plugin : plugins_->restartRequired(next_config.plugins)) {
      diff.restart_required.push_back(std::move(plugin));
    }
  }
  // A newly listed plugin is loaded by this reload: a setting applied at once.
  for (const PluginConfig& plugin : next_config.plugins) {
    const auto& running = snapshot_->config.plugins;
    if (std::none_of(running.begin(), running.end(),
                     [&](const PluginConfig& p) { return p.path == plugin.path; })) {
      diff.settings.push_back("plugins");
      break;
    }
  }
  // Settings that need a restart keep their running values (and are reported).
  next_config.workers = snapshot_->config.workers;
  next_config.admin_address = snapshot_->config.admin_address;

  SnapshotConstSharedPtr next;
  try {
    next = buildSnapshot(next_config, *store_, snapshot_.get());
    listener_manager_.prepare(*snapshot_, *next);
  } catch (const ConfigFileError& error) {
    return refuseReload(error.what());
  } catch (const std::exception& error) {
    return refuseReload(next_config.file + ": " + error.what());
  }

  // Nothing can fail from here on.
  for (const auto& warning : next_config.warnings) {
    logger_.warning(warning);
  }
  for (const auto& listener : next->listeners) {
    for (const auto& [key, published] : listener->published) {
      published.first->store(published.second);
    }
  }
  for (const auto& listener : snapshot_->listeners) {
    // Handles the new snapshot no longer fills: their connections are drained.
    for (const auto& [key, published] : listener->published) {
      const ListenerSnapshot* kept = next->listener(listener->config.name);
      bool still_filled = false;
      if (kept != nullptr) {
        auto it = kept->published.find(key);
        still_filled = it != kept->published.end() && it->second.first == published.first;
      }
      if (!still_filled) {
        published.first->store(nullptr);
      }
    }
  }
  listener_manager_.apply(*snapshot_, next, workers_, next_config.shutdown_timeout);
  if (next_config.log_level != snapshot_->config.log_level) {
    applyLogLevel(next_config.log_level);
  }
  {
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    snapshot_ = next;
  }
  config_ = std::move(next_config);
  generation_gauge_->add(1);
  reloads_ok_->inc();
  for (const auto& name : diff.listeners.added) {
    logger_.information("listener " + name + " on " + listener_manager_.boundAddress(name));
  }

  ReloadResult result;
  result.ok = true;
  result.generation = snapshot_->generation;
  result.json = "{\"status\":\"ok\",\"generation\":" + std::to_string(result.generation) +
                ",\"changes\":" + diff.toJson() + "}\n";
  result.log_line =
      "reload applied, generation " + std::to_string(result.generation) + ": " + diff.toJson();
  return result;
}

std::string Server::configDump(bool yaml) const {
  YAML::Node listeners(YAML::NodeType::Map);
  for (const auto& listener : snapshot_->listeners) {
    listeners[listener->config.name] = listener_manager_.boundAddress(listener->config.name);
  }
  YAML::Node config = YAML::Load(printCanonicalConfig(snapshot_->config));
  if (!yaml) {
    return "{\"generation\":" + std::to_string(snapshot_->generation) +
           ",\"bound_addresses\":" + yamlToJson(listeners) + ",\"config\":" + yamlToJson(config) +
           "}\n";
  }
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  out << YAML::Key << "generation" << YAML::Value << snapshot_->generation;
  out << YAML::Key << "bound_addresses" << YAML::Value << listeners;
  out << YAML::Key << "config" << YAML::Value << config;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

void Server::shutdown() {
  if (dns_refresher_ != nullptr) {
    dns_refresher_->stop();
  }
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
