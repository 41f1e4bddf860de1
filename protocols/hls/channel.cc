#include "hls/channel.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace xl::hls {
namespace {

int64_t wallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The segmenter on the stream's worker: frames in, snapshots out. Owned by the Stream.
class SegmenterSink : public FrameSink {
 public:
  SegmenterSink(ChannelPtr ch, uint64_t generation, Stream& stream, SegmenterConfig cfg)
      : ch_(std::move(ch)),
        generation_(generation),
        stream_(stream),
        seg_(cfg, wallNowMs, ch_->snapshot()) {}

  void onMediaInfo(const MediaInfoPtr& info) override { publish(seg_.setMediaInfo(info)); }

  void onFrame(const Frame& f) override {
    if (stopped_) return;
    if (ch_->released() || ch_->generation() != generation_) return stop();
    publish(seg_.onFrame(f));
  }

  void onStreamEnd() override {
    if (stopped_) return;
    publish(seg_.finish());
    ch_->setEnded(std::max<uint64_t>(1, stream_.owner().nowMs()));
  }

 private:
  void publish(SnapshotPtr s) {
    if (s) ch_->publish(generation_, std::move(s));
  }
  // Not from inside Stream::pushFrame's loop over sinks: the removal is posted.
  void stop() {
    stopped_ = true;
    spdlog::info("hls {} ({}): segmenter released", ch_->name(), containerName(ch_->container()));
    FrameSink* self = this;
    stream_.owner().post([weak = stream_.weak_from_this(), self] {
      if (auto s = weak.lock()) s->removeFrameSink(self);
    });
  }

  ChannelPtr ch_;
  uint64_t generation_;
  Stream& stream_;
  Segmenter seg_;
  bool stopped_ = false;
};

}  // namespace

void Waiter::park(std::shared_ptr<Channel> ch, Worker& w, uint64_t timeoutMs, Ready ready,
                  Timeout timeout) {
  if (ready(ch->snapshot())) return;
  auto* waiter = new Waiter(ch, w, std::move(ready), std::move(timeout));
  uv_timer_t* t = waiter->timer_.make();
  uv_timer_init(w.loop(), t);
  t->data = waiter;
  uv_timer_start(
      t,
      [](uv_timer_t* h) {
        auto* me = static_cast<Waiter*>(h->data);
        if (!me) return;
        Timeout fn = std::move(me->timeout_);
        me->done();
        if (fn) fn();
      },
      timeoutMs, 0);
  ch->addWaiter(waiter, w.index());
  // A snapshot published between the first check and addWaiter posted no wake-up for us.
  if (waiter->ready_(ch->snapshot())) waiter->done();
}

void Waiter::done() {
  channel_->removeWaiter(this, worker_.index());
  delete this;  // the timer handle closes with it
}

void Waiter::cancel() {
  done();
}

Channel::Channel(std::string name, Container c, std::vector<Worker*> workers)
    : name_(std::move(name)), container_(c), workers_(std::move(workers)) {
  for (size_t i = 0; i < workers_.size(); ++i) waits_.push_back(std::make_unique<WaitList>());
}

void Channel::publish(uint64_t generation, SnapshotPtr s) {
  if (!s || generation != generation_.load()) return;
  snap_.store(std::move(s));  // seq_cst: pairs with the waiter count (no lost wake-up)
  for (size_t i = 0; i < workers_.size(); ++i) {
    if (waits_[i]->count.load() == 0) continue;
    int wi = static_cast<int>(i);
    workers_[i]->run([self = shared_from_this(), wi] { self->wake(wi); });
  }
}

void Channel::addWaiter(Waiter* w, int wi) {
  waits_[wi]->list.push_back(w);
  waits_[wi]->count.fetch_add(1);
}

void Channel::removeWaiter(Waiter* w, int wi) {
  auto& l = waits_[wi]->list;
  auto it = std::find(l.begin(), l.end(), w);
  if (it == l.end()) return;
  l.erase(it);
  waits_[wi]->count.fetch_sub(1);
}

bool Channel::hasWaiters() const {
  for (const auto& w : waits_)
    if (w->count.load() > 0) return true;
  return false;
}

void Channel::wake(int wi) {
  SnapshotPtr s = snapshot();
  std::vector<Waiter*> list = waits_[wi]->list;  // answering removes entries
  for (Waiter* w : list) {
    auto& live = waits_[wi]->list;
    if (std::find(live.begin(), live.end(), w) == live.end()) continue;
    if (w->ready_(s)) w->done();
  }
}

static std::string channelKey(const std::string& name, Container c) {
  return name + "|" + containerName(c);
}

ChannelPtr ChannelMap::find(const std::string& name, Container c) const {
  std::lock_guard lk(mu_);
  auto it = map_.find(channelKey(name, c));
  return it == map_.end() ? nullptr : it->second;
}

ChannelPtr ChannelMap::attach(const StreamPtr& stream, Container c, uint64_t nowMs) {
  std::lock_guard lk(mu_);
  ChannelPtr& ch = map_[channelKey(stream->name(), c)];
  if (!ch) {
    ch = std::make_shared<Channel>(stream->name(), c, workers_);
    ch->touch(nowMs);
  }
  if (ch->stream_ == stream) return ch;
  // First request, or the source came back: a new segmenter goes on from the last snapshot.
  ch->stream_ = stream;
  ch->endedAtMs_.store(0);
  uint64_t gen = ch->generation_.fetch_add(1) + 1;
  SegmenterConfig cfg;
  cfg.targetMs = settings_->segmentDurationMs;
  cfg.partTargetMs = settings_->partDurationMs;
  cfg.window = settings_->window;
  cfg.container = c;
  spdlog::info("hls {} ({}): segmenter started", stream->name(), containerName(c));
  stream->owner().post([stream, ch, gen, cfg] {
    if (ch->released() || ch->generation() != gen) return;
    stream->addFrameSinkWithGop(std::make_unique<SegmenterSink>(ch, gen, *stream, cfg));
  });
  return ch;
}

void ChannelMap::sweep(uint64_t nowMs) {
  std::vector<StreamPtr> drop;  // released outside the lock
  std::lock_guard lk(mu_);
  for (auto it = map_.begin(); it != map_.end();) {
    Channel& ch = *it->second;
    uint64_t last = ch.lastAccessMs();
    // A parked request keeps its channel: it is waiting for this segmenter's output.
    if (nowMs > last && nowMs - last > settings_->idleTimeoutMs && !ch.hasWaiters()) {
      ch.released_.store(true);
      drop.push_back(std::move(ch.stream_));
      it = map_.erase(it);
    } else {
      ++it;
    }
  }
}

void ChannelMap::releaseStreamsOf(Worker& w) {
  std::vector<StreamPtr> drop;  // released outside the lock, with their segmenters
  std::lock_guard lk(mu_);
  for (auto& [_, ch] : map_) {
    if (!ch->stream_ || &ch->stream_->owner() != &w) continue;
    ch->released_.store(true);
    drop.push_back(std::move(ch->stream_));
  }
}

void ChannelMap::cancelWaiters(Worker& w) {
  std::vector<ChannelPtr> all;
  {
    std::lock_guard lk(mu_);
    for (auto& [_, ch] : map_) all.push_back(ch);
  }
  for (auto& ch : all)
    for (Waiter* waiter : ch->waitersOf(w.index())) waiter->cancel();
}

}  // namespace xl::hls
