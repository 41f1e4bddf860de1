#include "xueliang/stream.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace xl {
namespace {

// One muxed batch travelling to another worker's mirror: the only cross-thread post on the
// fan-out path, once per batch per worker, whatever the number of viewers there.
struct BatchTask : Task {
  BatchTask(std::shared_ptr<StreamMirror> m, int f, const MuxedBatch& b)
      : mirror(std::move(m)), format(f), batch(b) {}
  void run() override { mirror->deliver(format, batch); }
  std::shared_ptr<StreamMirror> mirror;
  int format;
  MuxedBatch batch;
};

// Alternate audio (MediaInfo::alternateAudio) reaches only the formats that ask for it.
bool takes(const OutputFormat& format, const Frame& f) {
  return !f.flags.alternate || format.alternateAudio;
}

}  // namespace

Stream::Stream(std::string name, Worker& owner, std::vector<Worker*> workers,
               const std::vector<OutputFormat>& formats, PublisherInfo publisher,
               StreamLimits limits)
    : name_(std::move(name)),
      owner_(owner),
      workers_(std::move(workers)),
      formats_(formats),
      publisher_(std::move(publisher)),
      limits_(limits),
      outputs_(formats.size()),
      media_(std::make_shared<MediaInfo>()),
      startMs_(uv_now(owner.loop())),
      viewers_(new std::atomic<int>[formats.size()]) {
  for (size_t i = 0; i < workers_.size(); ++i)
    mirrors_.push_back(std::make_shared<StreamMirror>(formats.size()));
  for (auto& o : outputs_) o.wanted.assign(workers_.size(), 0);
  for (size_t i = 0; i < formats.size(); ++i) viewers_[i] = 0;
}

Stream::~Stream() = default;

void Stream::setMediaInfo(MediaInfoPtr info) {
  // Held audio was muxed for the old parameters: it leaves before the new configuration.
  for (size_t i = 0; i < outputs_.size(); ++i) releaseHeldAudio(static_cast<int>(i), outputs_[i]);
  std::atomic_store(&media_, std::move(info));
  // New codec parameters: cached GOPs were made for the old ones. New viewers wait for the next
  // keyframe; existing ones get the new configuration in-band.
  resetCaches();
  gopValid_ = false;
  for (auto& out : outputs_) {
    if (out.muxer) out.header = out.muxer->header(*media_);
  }
  for (auto& sink : frameSinks_) sink->onMediaInfo(media_);
}

void Stream::resetCaches() {
  gopFrames_.clear();
  gopBytes_ = 0;
  for (auto& out : outputs_) out.gop.clear();
}

void Stream::pushFrame(const Frame& f) {
  if (ended_) return;
  const bool hasVideo = media_->video.has_value();
  if (!f.flags.config) {
    if (f.kind == MediaKind::kVideo && f.flags.key) {
      resetCaches();
      gopValid_ = true;
    } else if (!hasVideo && !f.flags.alternate) {
      resetCaches();  // audio only: every frame is a starting point
      gopValid_ = true;
    }
    if (gopValid_) {
      gopBytes_ += f.data.size();
      if (gopBytes_ > limits_.gopCacheMaxBytes) {
        spdlog::warn("stream {}: GOP over {} bytes, not cached until the next keyframe", name_,
                     limits_.gopCacheMaxBytes);
        resetCaches();
        gopValid_ = false;
      } else {
        gopFrames_.push_back(f);
      }
    }
  }

  if (!f.flags.alternate)
    for (auto& sink : frameSinks_) sink->onFrame(f);

  for (size_t i = 0; i < outputs_.size(); ++i) {
    Output& out = outputs_[i];
    if (out.totalWanted > 0 && takes(formats_[i], f)) muxInto(static_cast<int>(i), out, f, true);
  }

  // Statistics: bitrate over one-second windows of arrival time, frame rate from media time.
  uint64_t now = owner_.nowMs();
  windowBytes_ += f.data.size();
  ++windowFrames_;
  if (windowStartMs_ == 0) windowStartMs_ = now;
  if (now - windowStartMs_ >= 1000) {
    std::lock_guard lk(statsMu_);
    kbps_ = windowBytes_ * 8.0 / (now - windowStartMs_);
    frames_ += windowFrames_;
    bytesIn_ += windowBytes_;
    windowStartMs_ = now;
    windowFrames_ = windowBytes_ = 0;
  }
  if (f.kind == MediaKind::kVideo && !f.flags.config) {
    if (videoFrames_ == 0 || f.dts < videoFirstDts_) {
      videoFirstDts_ = f.dts;
      videoFrames_ = 0;
    }
    ++videoFrames_;
    if (f.dts - videoFirstDts_ >= 2000) {
      std::lock_guard lk(statsMu_);
      fps_ = (videoFrames_ - 1) * 1000.0 / static_cast<double>(f.dts - videoFirstDts_);
      videoFirstDts_ = f.dts;
      videoFrames_ = 1;
    }
  }
  if (gopValid_ && !waitingJoins_.empty()) {
    auto waiting = std::move(waitingJoins_);
    waitingJoins_.clear();
    for (auto [format, wi] : waiting) onAttach(format, wi);
  }
}

void Stream::muxInto(int format, Output& out, const Frame& f, bool fanOut) {
  BufferRef bytes = out.muxer->mux(f, *media_);
  if (!bytes) return;
  MuxedBatch b{std::move(bytes), f.dts, f.kind, f.kind == MediaKind::kVideo && f.flags.key,
               f.flags.config};
  // The muxed GOP follows the frame cache exactly.
  const bool inGop = !f.flags.config && gopValid_ && !gopFrames_.empty();
  if (!fanOut || !formats_[format].coalesceAudio || !media_->video) {
    if (inGop) out.gop.push_back(b);
    if (fanOut) send(format, out, b);
    return;
  }
  if (b.kind == MediaKind::kAudio && !b.config) {
    // Held back, and out of the GOP cache until sent: a viewer joining meanwhile gets these
    // frames with the video frame they ride with, not twice.
    uint64_t now = owner_.nowMs();
    if (out.heldAudio.empty()) out.heldSinceMs = now;
    out.heldBytes += b.bytes.size();
    out.heldAudio.push_back(std::move(b));
    if (now - out.heldSinceMs >= kAudioHoldMs) releaseHeldAudio(format, out);
    return;
  }
  if (out.heldAudio.empty() || b.kind != MediaKind::kVideo || b.config) {
    releaseHeldAudio(format, out);
    if (inGop) out.gop.push_back(b);
    send(format, out, b);
    return;
  }
  // A keyframe has just reset the cache: the held audio precedes the new GOP and stays out.
  if (inGop && !out.gop.empty())
    out.gop.insert(out.gop.end(), out.heldAudio.begin(), out.heldAudio.end());
  if (inGop) out.gop.push_back(b);
  // One copy per stream and frame buys one iovec per viewer and frame.
  BufferWriter w(out.heldBytes + b.bytes.size());
  for (const MuxedBatch& a : out.heldAudio) w.append(a.bytes.span());
  w.append(b.bytes.span());
  MuxedBatch joined{.bytes = w.freeze(),
                    .dts = b.dts,
                    .kind = MediaKind::kVideo,
                    .key = b.key,
                    .audioBytes = static_cast<uint32_t>(out.heldBytes)};
  out.heldAudio.clear();
  out.heldBytes = 0;
  send(format, out, joined);
}

void Stream::releaseHeldAudio(int format, Output& out) {
  if (out.heldAudio.empty()) return;
  if (gopValid_ && !out.gop.empty())
    out.gop.insert(out.gop.end(), out.heldAudio.begin(), out.heldAudio.end());
  MuxedBatch joined = out.heldAudio.back();
  if (out.heldAudio.size() > 1) {
    BufferWriter w(out.heldBytes);
    for (const MuxedBatch& a : out.heldAudio) w.append(a.bytes.span());
    joined.bytes = w.freeze();
  }
  out.heldAudio.clear();
  out.heldBytes = 0;
  send(format, out, joined);
}

void Stream::send(int format, Output& out, const MuxedBatch& b) {
  for (size_t w = 0; w < workers_.size(); ++w) {
    if (out.wanted[w] == 0) continue;
    if (workers_[w] == &owner_)
      mirrors_[w]->deliver(format, b);
    else
      workers_[w]->post(new BatchTask(mirrors_[w], format, b));
  }
}

void Stream::prime(Output& out) {
  out.gop.clear();
  out.header = out.muxer->header(*media_);
  for (const Frame& f : gopFrames_) {
    if (!takes(formats_[&out - outputs_.data()], f)) continue;
    BufferRef bytes = out.muxer->mux(f, *media_);
    if (bytes)
      out.gop.push_back(MuxedBatch{std::move(bytes), f.dts, f.kind,
                                   f.kind == MediaKind::kVideo && f.flags.key, false});
  }
  out.primed = true;
}

void Stream::end() {
  if (ended_) return;
  ended_ = true;
  for (size_t i = 0; i < outputs_.size(); ++i) releaseHeldAudio(static_cast<int>(i), outputs_[i]);
  for (auto& sink : frameSinks_) sink->onStreamEnd();
  for (size_t w = 0; w < workers_.size(); ++w) {
    auto mirror = mirrors_[w];
    workers_[w]->run([mirror] { mirror->end(); });
  }
  resetCaches();
}

void Stream::endWaitingViewers() {
  // Each waiting viewer detaches itself from onStreamEnd, which drops its waitingJoins_ entry.
  for (auto [format, wi] : waitingJoins_) {
    workers_[wi]->run([m = mirrors_[wi], f = format] { m->endPending(f); });
  }
}

void Stream::addFrameSink(std::unique_ptr<FrameSink> sink) {
  sink->onMediaInfo(media_);
  frameSinks_.push_back(std::move(sink));
  if (demandHook_) demandHook_();
}

void Stream::addFrameSinkWithGop(std::unique_ptr<FrameSink> sink) {
  sink->onMediaInfo(media_);
  if (gopValid_) {
    for (const Frame& f : gopFrames_)
      if (!f.flags.alternate) sink->onFrame(f);
  }
  if (ended_) sink->onStreamEnd();
  frameSinks_.push_back(std::move(sink));
  if (demandHook_) demandHook_();
}

void Stream::removeFrameSink(FrameSink* sink) {
  auto it = std::find_if(frameSinks_.begin(), frameSinks_.end(),
                         [sink](const std::unique_ptr<FrameSink>& s) { return s.get() == sink; });
  if (it != frameSinks_.end()) frameSinks_.erase(it);
  if (demandHook_) demandHook_();
}

void Stream::kick() {
  auto self = shared_from_this();
  owner_.run([self] {
    if (self->kick_) self->kick_();
  });
}

void Stream::requestKeyframe() {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t last = lastKeyframeRequestMs_.load(std::memory_order_relaxed);
  if (now - last < 1000 ||
      !lastKeyframeRequestMs_.compare_exchange_strong(last, now, std::memory_order_relaxed))
    return;  // rate-limited: many viewers asking at once make one request upstream
  auto self = shared_from_this();
  owner_.run([self] {
    if (self->keyframeHook_) self->keyframeHook_();
  });
}

StreamStats Stream::stats() const {
  StreamStats s;
  s.media = mediaInfo();
  {
    std::lock_guard lk(statsMu_);
    s.fps = fps_;
    s.bitrateKbps = kbps_;
    s.frames = frames_;
    s.bytesIn = bytesIn_;
  }
  s.uptimeSec = (uv_now(owner_.loop()) - startMs_) / 1000.0;
  for (size_t i = 0; i < formats_.size(); ++i) s.viewers.push_back(viewers_[i].load());
  return s;
}

void Stream::attach(Viewer* v, int format, Worker& w) {
  viewers_[format].fetch_add(1);
  mirrors_[w.index()]->add(v, format);
  auto self = shared_from_this();
  int wi = w.index();
  owner_.run([self, format, wi] { self->onAttach(format, wi); });
}

void Stream::detach(Viewer* v, int format, Worker& w) {
  viewers_[format].fetch_sub(1);
  mirrors_[w.index()]->remove(v, format);
  auto self = shared_from_this();
  int wi = w.index();
  owner_.run([self, format, wi] { self->onDetach(format, wi); });
}

void Stream::onAttach(int format, int wi) {
  Output& out = outputs_[format];
  if (demandHook_) demandHook_();
  if (ended_) {
    workers_[wi]->run([m = mirrors_[wi]] { m->end(); });
    return;
  }
  if (!gopValid_) {
    // Nothing to start on yet (no keyframe since publish or since new codec parameters): the
    // viewer joins with the first keyframe, by when the codec configuration is known.
    waitingJoins_.emplace_back(format, wi);
    return;
  }
  if (!out.muxer) out.muxer = formats_[format].createMuxer();
  if (!out.primed) prime(out);
  ++out.wanted[wi];
  ++out.totalWanted;
  auto mirror = mirrors_[wi];
  if (workers_[wi] == &owner_) {
    mirror->join(format, out.header, out.gop);
  } else {
    workers_[wi]->post([mirror, format, header = out.header, gop = out.gop] {
      mirror->join(format, header, gop);
    });
  }
}

void Stream::onDetach(int format, int wi) {
  if (demandHook_) demandHook_();
  auto waiting = std::find(waitingJoins_.begin(), waitingJoins_.end(), std::make_pair(format, wi));
  if (waiting != waitingJoins_.end()) {  // left before it joined
    waitingJoins_.erase(waiting);
    return;
  }
  Output& out = outputs_[format];
  if (out.wanted[wi] > 0) {
    --out.wanted[wi];
    --out.totalWanted;
  }
  if (out.totalWanted == 0) {  // stop muxing; prime again for the next viewer
    out.primed = false;
    out.gop.clear();
    out.heldAudio.clear();
    out.heldBytes = 0;
    if (formats_[format].releaseWhenIdle) {
      out.muxer.reset();
      out.header = {};
    }
  }
}

Result<StreamPtr> StreamRegistry::publish(const std::string& name, Worker& owner,
                                          PublisherInfo publisher) {
  std::lock_guard lk(mu_);
  if (auto it = streams_.find(name); it != streams_.end()) {
    const auto& p = it->second->publisher();
    return Status::error("stream '" + name + "' is already being published by " + p.protocol + " " +
                         p.peer);
  }
  auto s = std::make_shared<Stream>(name, owner, workers_, formats_, std::move(publisher), limits_);
  streams_.emplace(name, s);
  return s;
}

StreamPtr StreamRegistry::find(const std::string& name) const {
  std::lock_guard lk(mu_);
  auto it = streams_.find(name);
  return it == streams_.end() ? nullptr : it->second;
}

void StreamRegistry::remove(const Stream& stream) {
  std::lock_guard lk(mu_);
  auto it = streams_.find(stream.name());
  if (it != streams_.end() && it->second.get() == &stream) streams_.erase(it);
}

std::vector<StreamPtr> StreamRegistry::list() const {
  std::lock_guard lk(mu_);
  std::vector<StreamPtr> out;
  for (auto& [_, s] : streams_) out.push_back(s);
  return out;
}

}  // namespace xl
