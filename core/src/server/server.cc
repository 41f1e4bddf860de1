#include "server.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "../net/fd_table.h"
#include "../net/uring_writer.h"

namespace xl {

int ServerContext::formatIndex(std::string_view name) const {
  const auto& f = streams->formats();
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

Server::Server(std::string configPath) : configPath_(std::move(configPath)) {
  registerBuiltinModules(modules_);
}

Server::~Server() = default;

bool Server::configure(bool reload) {
  auto doc = ConfigDocument::load(configPath_);
  if (!doc) {
    spdlog::error("{}", doc.message());
    if (!reload) std::cerr << doc.message() << "\n";
    return false;
  }
  ConfigErrors errors;
  ConfigSection root = (*doc)->root(&errors);
  std::string baseDir = std::filesystem::absolute(configPath_).parent_path().string();
  std::vector<std::string> schemes;
  for (auto& [scheme, _] : modules_.sourceTypes()) schemes.push_back(scheme);
  ServerConfig cfg = readServerConfig(root, baseDir, schemes);

  // Protocol settings (listeners) take effect at start; a reload only validates them.
  for (auto& m : modules_.protocols()) {
    ConfigSection s = root.section(std::string(m->name()));
    m->configure(s, /*apply=*/!reload);
    s.finish();
  }

  // Plugins are configured on fresh instances, so a reload with errors changes nothing.
  ConfigSection pluginSection = root.section("plugins");
  // Shared objects first, so that `order` can name their types. A file stays loaded once
  // loaded; a reload loads new paths (their types need a restart, like any `order` change).
  loader_.configure(pluginSection, baseDir, modules_);
  cfg.pluginOrder = pluginSection.strings("order");
  PluginChain fresh;
  for (const std::string& name : cfg.pluginOrder) {
    std::shared_ptr<Plugin> instance;
    for (auto& [typeName, factory] : modules_.pluginTypes()) {
      if (typeName == name) instance = factory();
    }
    if (!instance) {
      pluginSection.error("order", "unknown plugin '" + name + "'");
      continue;
    }
    ConfigSection ps = pluginSection.section(name);
    instance->configure(ps);
    ps.finish();
    fresh.add(instance);
  }
  pluginSection.finish();
  root.finish();

  if (!errors.empty()) {
    for (auto& e : errors.list()) {
      if (reload)
        spdlog::error("reload: {}", e);
      else
        std::cerr << e << "\n";
    }
    if (reload) spdlog::error("reload: keeping the running configuration");
    return false;
  }
  if (!reload) {
    config_ = std::move(cfg);
    plugins_ = std::move(fresh);
    return true;
  }

  if (cfg.workers != config_.workers) spdlog::warn("reload: 'workers' changes need a restart");
  if (cfg.ioEngine != config_.ioEngine) spdlog::warn("reload: 'io_engine' changes need a restart");
  if (cfg.pluginOrder != config_.pluginOrder)
    spdlog::warn("reload: [plugins].order changes need a restart");
  // Live plugins take the new settings; each swaps in an immutable snapshot.
  ConfigErrors ignored;
  ConfigSection again = (*doc)->root(&ignored).section("plugins");
  for (auto& p : plugins_.plugins()) {
    ConfigSection ps = again.section(std::string(p->name()));
    p->configure(ps);
  }
  for (auto& m : modules_.protocols()) m->applyReload();
  ctx_.setViewerLimits(cfg.viewer);
  streams_->setLimits(cfg.stream);
  spdlog::set_level(spdlog::level::from_str(cfg.logLevel));
  config_.viewer = cfg.viewer;
  config_.stream = cfg.stream;
  config_.logLevel = cfg.logLevel;
  // Pulled sources follow the file: added, removed or restarted when their entry changed.
  if (sourceManager_) sourceManager_->reconcile(cfg.pulled);
  config_.pulled = cfg.pulled;
  spdlog::info("reload: configuration applied");
  return true;
}

int Server::check() {
  if (!configure(false)) return 1;
  std::cout << configPath_ << ": configuration OK\n";
  return 0;
}

namespace {

void logFdCapacity(const net::FdCapacity& fds) {
  if (fds.limit > fds.limitBefore)
    spdlog::info("open-file limit raised from {} to {}", fds.limitBefore, fds.limit);
  spdlog::info("open-file limit {}, descriptor table {} slots", fds.limit, fds.tableSize);
  // Every viewer holds a descriptor (RTSP over UDP and WebRTC more): say it before it bites.
  if (fds.limit < 4096)
    spdlog::warn(
        "open-file limit {} caps the server near {} viewers; raise the hard limit "
        "(ulimit -Hn, systemd LimitNOFILE=)",
        fds.limit, fds.limit > 64 ? fds.limit - 64 : 0);
}

// Kernels without io_uring, or a seccomp profile that forbids it (containers), are said once:
// as a warning when io_uring was asked for, as a note when "auto" chose for the operator.
bool useIoUring(IoEngine engine) {
  if (engine == IoEngine::kWritev) return false;
  if (Status s = UringWriter::probe(); !s) {
    if (engine == IoEngine::kIoUring)
      spdlog::warn("io_engine \"io_uring\" unavailable ({}): writing with writev", s.message());
    else
      spdlog::info("io_engine \"auto\": io_uring unavailable ({}), writing with writev",
                   s.message());
    return false;
  }
  spdlog::info("io_engine: writing to TCP viewers through io_uring");
  return true;
}

}  // namespace

int Server::run() {
  // Before any thread starts, so growing the descriptor table costs no RCU grace period.
  net::FdCapacity fds = net::prepareFdCapacity();
  if (!configure(false)) return 1;
  spdlog::set_level(spdlog::level::from_str(config_.logLevel));
  logFdCapacity(fds);

  int n = config_.workers > 0 ? config_.workers
                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool ioUring = useIoUring(config_.ioEngine);
  ctx_.ioEngine = ioUring ? "io_uring" : "writev";
  std::vector<Worker*> raw;
  for (int i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<Worker>(i));
    workers_.back()->setIoUring(ioUring);
    raw.push_back(workers_.back().get());
  }
  sessions_.resize(n);
  streams_ = std::make_unique<StreamRegistry>(raw, modules_.formats());
  streams_->setLimits(config_.stream);
  ctx_.workers = raw;
  ctx_.streams = streams_.get();
  ctx_.plugins = &plugins_;
  ctx_.sessions = &sessions_;
  ctx_.setViewerLimits(config_.viewer);
  sourceManager_ = std::make_unique<SourceManager>(ctx_);
  for (auto& [scheme, factory] : modules_.sourceTypes()) sourceManager_->addType(scheme, factory);
  ctx_.sources = sourceManager_.get();

  for (auto& m : modules_.protocols()) {
    if (!m->enabled()) continue;
    for (Worker* w : raw) {
      if (Status s = m->startWorker(*w, ctx_); !s) {
        spdlog::error("{}: {}", m->name(), s.message());
        std::cerr << m->name() << ": " << s.message() << "\n";
        return 1;
      }
    }
  }
  // Sources publish before the workers run, so their streams exist when the first client comes.
  for (size_t i = 0; i < config_.sources.size(); ++i) {
    auto src = std::make_unique<FileSource>(config_.sources[i], ctx_, *raw[i % raw.size()]);
    if (Status s = src->start(); !s) {
      spdlog::error("source {}: {}", config_.sources[i].name, s.message());
      continue;
    }
    sources_.push_back(std::move(src));
  }
  for (const SourceSettings& p : config_.pulled) {
    auto [code, message] = sourceManager_->add(p, SourceOrigin::kConfig);
    if (code != 201) spdlog::error("source {}: {}", p.name, message);
  }

  for (Worker* w : raw) {
    SessionSet* set = &sessions_[w->index()];
    w->addTicker([w, set] {
      uint64_t now = w->nowMs();
      std::vector<Session*> all(set->all().begin(), set->all().end());
      for (Session* s : all) s->tick(now);
    });
    w->start();
  }
  spdlog::info("xueliang started: {} workers, config {}", n, configPath_);

  uv_loop_init(&mainLoop_);
  mainLoop_.data = this;
  uv_signal_t sigterm, sigint, sighup;
  auto stopCb = [](uv_signal_t* h, int sig) {
    spdlog::info("signal {}: shutting down", sig);
    uv_stop(h->loop);
  };
  uv_signal_init(&mainLoop_, &sigterm);
  uv_signal_init(&mainLoop_, &sigint);
  uv_signal_init(&mainLoop_, &sighup);
  uv_signal_start(&sigterm, stopCb, SIGTERM);
  uv_signal_start(&sigint, stopCb, SIGINT);
  uv_signal_start(
      &sighup, [](uv_signal_t* h, int) { static_cast<Server*>(h->loop->data)->reload(); }, SIGHUP);
  uv_run(&mainLoop_, UV_RUN_DEFAULT);
  for (uv_signal_t* h : {&sigterm, &sigint, &sighup})
    uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
  uv_run(&mainLoop_, UV_RUN_NOWAIT);
  uv_loop_close(&mainLoop_);

  shutdown();
  spdlog::info("xueliang stopped");
  return 0;
}

void Server::reload() {
  spdlog::info("SIGHUP: reloading {}", configPath_);
  configure(true);
}

void Server::shutdown() {
  for (auto& s : sources_) s->stop();
  if (sourceManager_) sourceManager_->stopAll();
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->stop([this, worker] {
      for (auto& m : modules_.protocols()) {
        if (m->enabled()) m->stopWorker(*worker);
      }
      std::vector<Session*> all(sessions_[worker->index()].all().begin(),
                                sessions_[worker->index()].all().end());
      for (Session* s : all) s->shutdown();
    });
  }
  sources_.clear();
  workers_.clear();
  ctx_.sources = nullptr;
  sourceManager_.reset();
}

}  // namespace xl
