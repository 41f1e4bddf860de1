#include "managed_source.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace xl {
namespace {

constexpr uint64_t kCheckIntervalMs = 200;
// A viewer of a source that is not live waits this long for its first picture, then is let go
// (viewers that already play stay through reconnects).
constexpr uint64_t kViewerWaitMs = 10000;

int64_t unixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* stateName(int s) {
  static const char* names[] = {"idle", "connecting", "live", "retrying"};
  return names[s];
}

}  // namespace

ManagedSource::ManagedSource(SourceSettings settings, SourceFactory factory, ServerContext& ctx,
                             Worker& owner, StreamPtr stream)
    : settings_(std::move(settings)),
      factory_(std::move(factory)),
      ctx_(ctx),
      owner_(owner),
      stream_(std::move(stream)),
      rng_(std::random_device{}()) {
  status_.settings = settings_;
  status_.state = "idle";
}

ManagedSource::~ManagedSource() = default;

void ManagedSource::begin() {
  if (finished_) return;
  ctx_.streamStarted(*stream_);
  stream_->setSourceLive(false);  // until the first connection delivers
  baseSinks_ = stream_->frameSinkCount();
  std::weak_ptr<ManagedSource> weak = weak_from_this();
  stream_->setDemandHook([weak] {
    if (auto self = weak.lock()) self->check();
  });
  // DELETE /api/v1/streams/{name} on a pulled stream reconnects to the remote end.
  stream_->setKickHandler([weak] {
    auto self = weak.lock();
    if (!self || self->finished_ || self->state_ == State::kIdle) return;
    spdlog::info("source {}: kicked, reconnecting", self->settings_.name);
    self->dropDriver();
    self->connect();
  });
  uv_timer_init(owner_.loop(), timer_.make());
  timer_.get()->data = this;
  uv_timer_start(
      timer_.get(), [](uv_timer_t* t) { static_cast<ManagedSource*>(t->data)->check(); },
      kCheckIntervalMs, kCheckIntervalMs);
  if (!settings_.onDemand) connect();
}

void ManagedSource::finish() {
  if (finished_) return;
  finished_ = true;
  driver_.reset();
  timer_.reset();
  stream_->setDemandHook({});
  stream_->setKickHandler({});
  stream_->end();
  ctx_.streams->remove(*stream_);
  spdlog::info("source {}: removed", settings_.name);
}

void ManagedSource::restart(SourceSettings settings, SourceFactory factory) {
  if (finished_) return;
  dropDriver();
  settings_ = std::move(settings);
  factory_ = std::move(factory);
  attempts_ = 0;
  connects_ = 0;
  idleSinceMs_ = 0;
  {
    std::lock_guard lk(mu_);
    status_.settings = settings_;
    status_.connects = 0;
  }
  if (settings_.onDemand && demand() == 0)
    setState(State::kIdle);
  else
    connect();
}

size_t ManagedSource::demand() const {
  StreamStats st = stream_->stats();
  size_t n = 0;
  for (int v : st.viewers) n += static_cast<size_t>(v);
  size_t sinks = stream_->frameSinkCount();
  return n + (sinks > baseSinks_ ? sinks - baseSinks_ : 0);
}

void ManagedSource::check() {
  if (finished_) return;
  uint64_t now = owner_.nowMs();
  if (settings_.onDemand) {
    if (demand() > 0) {
      idleSinceMs_ = 0;
      if (state_ == State::kIdle) {
        spdlog::info("source {}: first viewer, connecting", settings_.name);
        connect();
        return;
      }
    } else if (state_ != State::kIdle) {
      if (idleSinceMs_ == 0) idleSinceMs_ = now;
      if (now - idleSinceMs_ >= settings_.idleTimeoutMs) {
        spdlog::info("source {}: no viewers for {} ms, releasing", settings_.name,
                     settings_.idleTimeoutMs);
        dropDriver();
        attempts_ = 0;
        setState(State::kIdle);
        return;
      }
    }
  }
  if (state_ != State::kLive && demand() > 0) {
    if (waitSinceMs_ == 0) waitSinceMs_ = now;
    if (now - waitSinceMs_ >= kViewerWaitMs) {
      stream_->endWaitingViewers();
      waitSinceMs_ = now;
    }
  } else {
    waitSinceMs_ = 0;
  }
  if (state_ == State::kRetrying && now >= retryAtMs_) connect();
}

void ManagedSource::connect() {
  ++connects_;
  {
    std::lock_guard lk(mu_);
    status_.connects = connects_;
    status_.mediaTransport.clear();
  }
  setState(State::kConnecting, status_.lastError);
  driver_ = factory_(settings_, ctx_, owner_, *this);
  if (!driver_) {
    sourceFailed("no driver for " + urlScheme(settings_.url));
    return;
  }
  driver_->start();
}

void ManagedSource::dropDriver() {
  if (!driver_) return;
  // The driver may be on the stack (this is often called from its own callbacks): destroy it
  // from the worker's queue, keeping this source and its stream (which it uses) alive till then.
  std::shared_ptr<SourceDriver> old(driver_.release());
  owner_.post([old, self = shared_from_this()]() mutable { old.reset(); });
  // New viewers wait for the next keyframe of the next connection instead of a stale GOP.
  stream_->setMediaInfo(stream_->mediaInfo());
  stream_->setSourceLive(false);
}

void ManagedSource::sourceLive() {
  if (finished_ || state_ == State::kLive) return;
  attempts_ = 0;
  stream_->setSourceLive(true);
  spdlog::info("source {}: live", settings_.name);
  setState(State::kLive);
}

void ManagedSource::sourceTransport(const std::string& transport) {
  std::lock_guard lk(mu_);
  status_.mediaTransport = transport;
}

void ManagedSource::sourceFailed(const std::string& reason) {
  if (finished_) return;
  dropDriver();
  uint64_t delay = backoffDelayMs(attempts_, settings_.retryMinMs, settings_.retryMaxMs,
                                  std::uniform_real_distribution<double>(0, 1)(rng_));
  ++attempts_;
  retryAtMs_ = owner_.nowMs() + delay;
  spdlog::warn("source {}: {}; retrying in {} ms", settings_.name, reason, delay);
  {
    std::lock_guard lk(mu_);
    status_.nextAttemptUnixMs = unixMs() + static_cast<int64_t>(delay);
  }
  setState(State::kRetrying, reason);
}

void ManagedSource::setState(State s, const std::string& error) {
  state_ = s;
  std::lock_guard lk(mu_);
  status_.state = stateName(static_cast<int>(s));
  status_.attempts = attempts_;
  if (s == State::kLive) {
    status_.connectedSinceUnixMs = unixMs();
    status_.lastError.clear();
  } else {
    status_.connectedSinceUnixMs = 0;
    status_.lastError = error;
  }
  if (s != State::kRetrying) status_.nextAttemptUnixMs = 0;
  if (s == State::kRetrying || s == State::kIdle) status_.mediaTransport.clear();
}

SourceStatus ManagedSource::status() const {
  std::lock_guard lk(mu_);
  SourceStatus s = status_;
  s.bytesIn = bytesIn_.load(std::memory_order_relaxed);
  s.framesIn = framesIn_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace xl
