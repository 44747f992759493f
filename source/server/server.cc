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
#include "common/access_log/access_log_sink_impl.h"
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
  sigaddset(&set, SIGUSR1);
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
  // The admin thread never waits for the main one: the work is posted there and its answer
  // handed back through `done`.
  hooks.reload = [this](admin::AdminReplyCb done) {
    bool posted = postToMainThread([this, done] {
      reload([done](const ReloadResult& result) {
        done(admin::AdminReply{result.ok ? 200 : 400, result.json, "application/json"});
      });
    });
    if (!posted) {
      done(admin::AdminReply{503, "shutting down\n", "text/plain; charset=utf-8"});
    }
  };
  hooks.config_dump = [this](bool yaml, admin::AdminReplyCb done) {
    bool posted = postToMainThread([this, yaml, done] {
      done(
          admin::AdminReply{200, configDump(yaml), yaml ? "application/yaml" : "application/json"});
    });
    if (!posted) {
      done(admin::AdminReply{503, "shutting down\n", "text/plain; charset=utf-8"});
    }
  };
  hooks.snapshot = [this] { return currentSnapshot(); };
  try {
    admin_ =
        std::make_unique<admin::AdminServer>(config_.admin_address, config_.admin.read_only_address,
                                             accessPolicy(config_), collectables, hooks);
  } catch (const std::exception& error) {
    throw std::runtime_error("admin API: " + std::string(error.what()));
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
  if (config_.admin.read_only_address) {
    logger_.information("admin read-only address (/metrics, /ready, /healthz) on " +
                        admin_->readOnlyBoundAddress());
  }
  // snapshot_ is only read and replaced on the main thread, where the timer runs.
  resolver_ = std::make_unique<AsyncResolver>(main_dispatcher_, upstream::systemResolver());
  dns_refresher_ = std::make_unique<DnsRefresher>(
      main_dispatcher_, [this] { return snapshot_; }, *resolver_, logger_);
  dns_refresher_->start();
  ready_ = true;
}

std::shared_ptr<const admin::AdminAccessPolicy> Server::accessPolicy(const Config& config) {
  return std::make_shared<const admin::AdminAccessPolicy>(config.admin.allowed_hosts,
                                                          config.admin.token);
}

bool Server::postToMainThread(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(main_loop_mutex_);
  if (!main_loop_open_) {
    return false;
  }
  main_dispatcher_.post(std::move(fn));
  return true;
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
  sigaddset(&set, SIGUSR1);
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
    // Work the admin thread posted (a reload, a config dump) still runs and is answered.
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
    reload([this](const ReloadResult& result) {
      if (result.ok) {
        logger_.information("SIGHUP: " + result.log_line);
      } else {
        logger_.error("SIGHUP: " + result.log_line);
      }
    });
    return;
  }
  if (signal_number == SIGUSR1) {
    // Log rotation: the old file was renamed; new lines go to a new file at the path.
    for (const auto& result : access_log::AccessLogSinkImpl::reopenFiles()) {
      if (result.ok) {
        logger_.information("SIGUSR1: " + result.message);
      } else {
        logger_.error("SIGUSR1: " + result.message);
      }
    }
    return;
  }
  shutting_down_ = true;  // no reload starts any more
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

void Server::reload(ReloadDone done) {
  if (shutting_down_) {
    done(refuseReload("shutting down"));
    return;
  }
  queued_reloads_.push_back(std::move(done));
  if (!reloading_) {
    startQueuedReload();
  }
}

void Server::startQueuedReload() {
  if (queued_reloads_.empty() || shutting_down_) {
    return;
  }
  // Everyone who asked before this point is answered by this reload, which reads the file
  // as it is now; who asks while it runs gets the next one.
  reloading_ = true;
  reload_waiters_ = std::move(queued_reloads_);
  queued_reloads_.clear();
  auto staged = std::make_shared<StagedReload>();
  ReloadResult refused;
  try {
    if (!stageReload(*staged, refused)) {
      finishReload(refused);
      return;
    }
  } catch (const std::exception& error) {
    // Whatever went wrong before anything was applied: refused, and the main loop goes on.
    finishReload(refuseReload(snapshot_->config.file + ": reload: " + error.what()));
    return;
  }
  staged_ = staged;
  // The new clusters' names are looked up off the main thread; the loop goes on meanwhile.
  dns_refresher_->resolve(
      DnsRefresher::newHostsToResolve(*staged->next, *snapshot_), [this, staged] {
        if (staged_ != staged || shutting_down_) {
          return;  // abandoned: shutdown() answers its waiters
        }
        staged_.reset();
        ReloadResult result;
        try {
          result = applyStagedReload(*staged);
        } catch (const std::exception& error) {
          result = refuseReload(snapshot_->config.file + ": reload: " + error.what());
        }
        finishReload(result);
      });
}

void Server::finishReload(const ReloadResult& result) {
  // Filters of plugins the reload listed stay registered only if it was applied.
  if (plugins_ != nullptr) {
    if (result.ok) {
      plugins_->commit();
    } else {
      plugins_->rollback();
    }
  }
  reloading_ = false;
  std::vector<ReloadDone> waiters = std::move(reload_waiters_);
  reload_waiters_.clear();
  for (auto& waiter : waiters) {
    waiter(result);
  }
  startQueuedReload();
}

void Server::abandonReloads() {
  shutting_down_ = true;
  if (reloading_) {
    staged_.reset();
    finishReload(refuseReload("shutting down"));
  }
  std::vector<ReloadDone> queued = std::move(queued_reloads_);
  queued_reloads_.clear();
  for (auto& waiter : queued) {
    waiter(refuseReload("shutting down"));
  }
}

bool Server::stageReload(StagedReload& staged, ReloadResult& refused) {
  Config& next_config = staged.config;
  ConfigDiff& diff = staged.diff;
  try {
    next_config =
        plugins_ != nullptr
            ? loadConfigFile(snapshot_->config.file, processEnvironment(), plugins_->stager())
            : loadConfigFile(snapshot_->config.file, processEnvironment());
    if (overrides_) {
      overrides_(next_config);
    }
  } catch (const ConfigFileError& error) {
    refused = refuseReload(error.what());
    return false;
  }
  diff = diffConfigs(snapshot_->config, next_config);
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
  next_config.admin.read_only_address = snapshot_->config.admin.read_only_address;

  try {
    // Names that need a lookup are left unresolved here; startQueuedReload() has them
    // looked up before the snapshot is applied.
    staged.next = buildSnapshot(next_config, *store_, snapshot_.get(), upstream::literalResolver());
  } catch (const ConfigFileError& error) {
    refused = refuseReload(error.what());
    return false;
  } catch (const std::exception& error) {
    refused = refuseReload(next_config.file + ": " + error.what());
    return false;
  }
  return true;
}

Server::ReloadResult Server::applyStagedReload(StagedReload& staged) {
  Config& next_config = staged.config;
  ConfigDiff& diff = staged.diff;
  SnapshotConstSharedPtr next = staged.next;
  try {
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
  if (next_config.admin.allowed_hosts != config_.admin.allowed_hosts ||
      next_config.admin.token != config_.admin.token) {
    // Requests whose headers arrive after this reload's answer is sent are judged by it.
    admin_->setAccessPolicy(accessPolicy(next_config));
  }
  // Moved, never copy-assigned: assigning a Config assigns its filters' YAML::Nodes one over
  // another, and yaml-cpp then merges the two documents' memory, so the running config
  // would keep every document ever loaded (~60 KiB per reload, found by tools/soak).
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
  // Where each endpoint's name resolves now and the address new connections start with
  // (the one that last connected).
  YAML::Node upstreams(YAML::NodeType::Sequence);
  for (const auto& cluster : snapshot_->clusters->all()) {
    for (const auto& host : cluster->hostImpls()) {
      YAML::Node endpoint(YAML::NodeType::Map);
      endpoint["cluster"] = cluster->name();
      endpoint["endpoint"] = host->hostname() + ":" + std::to_string(host->port());
      endpoint["address"] = host->address().asString();
      YAML::Node addresses(YAML::NodeType::Sequence);
      for (const network::Address& address : host->addresses()) {
        addresses.push_back(address.asString());
      }
      endpoint["addresses"] = addresses;
      upstreams.push_back(endpoint);
    }
  }
  YAML::Node config = YAML::Load(printCanonicalConfig(snapshot_->config));
  // The load's warnings (an unverified TLS cluster...): visible to whoever inspects it.
  YAML::Node warnings(YAML::NodeType::Sequence);
  for (const auto& warning : snapshot_->config.warnings) {
    warnings.push_back(warning);
  }
  if (!yaml) {
    return "{\"generation\":" + std::to_string(snapshot_->generation) +
           ",\"bound_addresses\":" + yamlToJson(listeners) +
           ",\"upstream_addresses\":" + yamlToJson(upstreams) +
           ",\"warnings\":" + yamlToJson(warnings) + ",\"config\":" + yamlToJson(config) + "}\n";
  }
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  out << YAML::Key << "generation" << YAML::Value << snapshot_->generation;
  out << YAML::Key << "bound_addresses" << YAML::Value << listeners;
  ",\"upstream_addresses\":" + yamlToJson(upstreams) + ",\"warnings\":" + yamlToJson(warnings) +
      ",\"config\":" + yamlToJson(config) + "}\n";
  out << YAML::Key << "config" << YAML::Value << config;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

void Server::shutdown() {
  abandonReloads();
  if (dns_refresher_ != nullptr) {
    dns_refresher_->stop();
  }
  // Lookups still out finish on their threads, and their answers are dropped.
  dns_refresher_.reset();
  resolver_.reset();
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
