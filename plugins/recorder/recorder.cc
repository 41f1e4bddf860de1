#include "recorder.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "export.h"
#include "index_db.h"
#include "pre_event_buffer.h"
#include "retention.h"
#include "stream_writer.h"
#include "time_range.h"

namespace xl::recorder {
namespace {

int64_t steadyMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

int64_t epochMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// The producer side, on the stream's worker: never blocks, never copies a payload.
class RecorderSink : public FrameSink {
 public:
  explicit RecorderSink(std::shared_ptr<Channel> ch) : ch_(std::move(ch)) {
    // About 200 frames a second of video and audio, so the cap only bites on odd streams.
    if (ch_->preEventMs > 0)
      pre_ = std::make_unique<PreEventBuffer>(ch_->preEventMs, ch_->preEventMs / 5 + 256);
  }
  ~RecorderSink() override { ch_->producerGone.store(true, std::memory_order_release); }

  void onMediaInfo(const MediaInfoPtr& info) override {
    info_ = info;
    infoPending_ = true;
    active_ = false;  // restart at the next keyframe with the new parameters
    if (pre_) {
      pre_->clear();
      pre_->setVideo(info && info->video);
    }
    if (clipping_) endClip();
  }

  void onFrame(const Frame& f) override {
    if (info_ && !f.flags.config) clipFrame(f);
    continuous(f);
  }

 private:
  bool startPoint(const Frame& f) const {
    return info_->video ? (f.kind == MediaKind::kVideo && f.flags.key) : true;
  }

  bool pushClip(Item::Kind kind, const Frame* f) {
    Item it;
    it.kind = kind;
    if (f) it.frame = *f;
    if (ch_->ring.push(it)) return true;
    ch_->framesDropped.store(ch_->framesDropped.load(std::memory_order_relaxed) + 1,
                             std::memory_order_relaxed);
    return false;
  }

  void endClip() {
    pushClip(Item::kClipEnd, nullptr);
    clipping_ = false;
  }

  // Event clips: independent of the continuous recording (a stream need not be recorded).
  void clipFrame(const Frame& f) {
    if (pre_) pre_->push(f, startPoint(f));
    uint64_t seq = ch_->eventSeq.load(std::memory_order_acquire);
    if (seq != seenEvent_) {
      seenEvent_ = seq;
      clipUntil_ = f.dts + ch_->eventPostMs.load();
      if (clipping_) return;  // a second event extends the clip
      Item start;
      start.kind = Item::kClipStart;
      start.info = info_;
      {
        std::lock_guard lk(ch_->errorMu);
        start.path = ch_->eventPath;
      }
      if (!ch_->ring.push(start)) return;
      clipping_ = true;
      clipWaitKey_ = true;
      if (pre_) {
        pre_->replay(ch_->eventPreMs.load(), [this](const Frame& x) {
          if (clipWaitKey_ && !startPoint(x)) return;
          clipWaitKey_ = false;
          pushClip(Item::kClipFrame, &x);
        });
        return;  // the replay ended with this frame
      }
    }
    if (!clipping_) return;
    if (f.dts > clipUntil_) return endClip();
    if (clipWaitKey_ && !startPoint(f)) return;
    clipWaitKey_ = false;
    pushClip(Item::kClipFrame, &f);
  }

  void continuous(const Frame& f) {
    if (!ch_->wanted.load(std::memory_order_relaxed)) {
      if (active_ || stopPending_) {
        active_ = false;
        Item stop;
        stop.kind = Item::kStop;
        stopPending_ = !ch_->ring.push(stop);
      }
      return;
    }
    if (!info_) return;
    if (!active_ || dropping_) {
      if (!startPoint(f)) return;
      if (infoPending_) {
        Item it;
        it.kind = Item::kInfo;
        it.info = info_;
        if (!ch_->ring.push(it)) return drop();
        infoPending_ = false;
      }
    }
    Item it;
    it.kind = Item::kFrame;
    it.frame = f;  // shares the payload: a refcount increment
    if (!ch_->ring.push(it)) return drop();
    if (dropping_) {
      spdlog::warn("recorder: {}: writer caught up, recording again", ch_->name);
      dropping_ = false;
    }
    active_ = true;
    stopPending_ = false;
    ch_->framesQueued.store(ch_->framesQueued.load(std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed);
  }

  void drop() {
    ch_->framesDropped.store(ch_->framesDropped.load(std::memory_order_relaxed) + 1,
                             std::memory_order_relaxed);
    if (dropping_) return;
    dropping_ = true;
    ch_->dropIncidents.store(ch_->dropIncidents.load(std::memory_order_relaxed) + 1,
                             std::memory_order_relaxed);
    spdlog::error(
        "ALERT recorder: {}: writer queue full ({} frames), dropping until the writer "
        "catches up",
        ch_->name, ch_->ring.capacity());
  }

  std::shared_ptr<Channel> ch_;
  MediaInfoPtr info_;
  bool infoPending_ = false;
  bool active_ = false;
  bool dropping_ = false;
  bool stopPending_ = false;
  std::unique_ptr<PreEventBuffer> pre_;
  uint64_t seenEvent_ = 0;
  bool clipping_ = false;
  bool clipWaitKey_ = false;
  int64_t clipUntil_ = 0;
};

}  // namespace

RecorderService::RecorderService() = default;

void RecorderService::setConfig(ConfigPtr c) {
  std::atomic_store(&config_, std::move(c));
  ensureWriter();
}

RecorderService::~RecorderService() {
  quit_.store(true);
  exportCv_.notify_all();
  if (exporter_.joinable()) exporter_.join();
  if (writer_.joinable()) writer_.join();
}

void RecorderService::exportClip(const std::string& stream, int64_t fromMs, int64_t toMs,
                                 std::function<void(Result<BufferRef>, std::string)> done) {
  {
    std::lock_guard lk(exportMu_);
    if (exportJobs_.size() >= 2) {
      done(Status::error("too many exports at once; retry later"), "");
      return;
    }
    if (!exporter_.joinable()) {
      exporter_ = std::thread([this] {
        std::unique_lock lk(exportMu_);
        while (!quit_.load()) {
          if (exportJobs_.empty()) {
            exportCv_.wait_for(lk, std::chrono::milliseconds(200));
            continue;
          }
          auto job = std::move(exportJobs_.front());
          exportJobs_.erase(exportJobs_.begin());
          lk.unlock();
          job();
          lk.lock();
        }
      });
    }
  }
  // The index lives on the writer thread: ask it for the files, then queue the remux.
  std::lock_guard lk(mu_);
  queries_.push_back([this, stream, fromMs, toMs, done](Retention& index) {
    std::vector<SegmentFile> segs = index.query(stream, fromMs, toMs);
    std::lock_guard el(exportMu_);
    exportJobs_.push_back([segs, fromMs, toMs, done] {
      Result<BufferRef> clip = exportRange(segs, fromMs, toMs);
      std::string hash = clip ? sha256Hex(*clip) : std::string();
      done(std::move(clip), std::move(hash));
    });
    exportCv_.notify_one();
  });
  if (!writer_.joinable()) writer_ = std::thread([this] { writerLoop(); });
}

std::unique_ptr<FrameSink> RecorderService::attach(const std::string& stream) {
  if (!safeStreamName(stream)) {
    spdlog::warn("recorder: {}: not a name that can be a path under the root, not recorded",
                 stream);
    return nullptr;
  }
  ConfigPtr cfg = config();
  const Rule* rule = findRule(*cfg, stream);
  auto ch = std::make_shared<Channel>(stream, cfg->queueFrames);
  ch->segmentSeconds.store(rule ? rule->segmentSeconds : cfg->defaultSegmentSeconds);
  ch->preEventMs = cfg->preEventSeconds * 1000;
  {
    std::lock_guard lk(mu_);
    ch->wanted.store((rule && rule->always) || requested_.count(stream) > 0);
    channels_[stream] = ch;  // a republish replaces the old channel; the writer still drains it
  }
  if (ch->wanted.load()) spdlog::info("recorder: recording {}", stream);
  ensureWriter();
  return std::make_unique<RecorderSink>(std::move(ch));
}

bool RecorderService::start(const std::string& stream) {
  std::lock_guard lk(mu_);
  requested_.insert(stream);
  auto it = channels_.find(stream);
  bool live = it != channels_.end() && !it->second->producerGone.load();
  if (live) it->second->wanted.store(true);
  spdlog::info("recorder: start {}{}", stream, live ? "" : " (when it is published)");
  return live;
}

bool RecorderService::stop(const std::string& stream) {
  std::lock_guard lk(mu_);
  bool was = requested_.erase(stream) > 0;
  auto it = channels_.find(stream);
  if (it != channels_.end() && it->second->wanted.exchange(false)) was = true;
  spdlog::info("recorder: stop {}", stream);
  return was;
}

std::string RecorderService::event(const std::string& stream, int preSeconds, int postSeconds) {
  ConfigPtr cfg = config();
  std::lock_guard lk(mu_);
  auto it = channels_.find(stream);
  if (it == channels_.end() || it->second->producerGone.load()) return {};
  Channel& ch = *it->second;
  // Clips live beside the day folders: root/{app}/{stream}/events/YYYYMMDD-HHMMSS.mp4 (UTC).
  time_t secs = static_cast<time_t>(epochMs() / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::string path = cfg->root + "/" + stream + "/events/" + std::string(stamp) + ".mp4";
  {
    std::lock_guard el(ch.errorMu);
    if (!ch.eventPath || *ch.eventPath != path)
      ch.eventPath = std::make_shared<const std::string>(path);
    path = *ch.eventPath;
  }
  ch.eventPreMs.store(preSeconds * 1000);
  ch.eventPostMs.store(postSeconds * 1000);
  ch.eventSeq.fetch_add(1, std::memory_order_release);
  spdlog::info("recorder: event on {}: {} s before, {} s after, into {}", stream, preSeconds,
               postSeconds, path);
  return path;
}

void RecorderService::list(const std::string& stream, int64_t fromMs, int64_t toMs,
                           std::function<void(std::string)> reply) {
  {
    std::lock_guard lk(mu_);
    queries_.push_back([=, this](Retention& index) {
      using nlohmann::json;
      std::vector<SegmentFile> segs = listSegments(index, stream, fromMs, toMs);
      json list = json::array();
      for (const SegmentFile& f : segs) {
        list.push_back({{"path", f.path},
                        {"start", formatTime(f.startEpochMs)},
                        {"end", formatTime(f.endEpochMs)},
                        {"start_ms", f.startEpochMs},
                        {"end_ms", f.endEpochMs},
                        {"bytes", f.bytes}});
      }
      json gaps = json::array();
      for (const Gap& g : findGaps(segs, fromMs, toMs, 1500)) {
        gaps.push_back({{"from", formatTime(g.fromMs)},
                        {"to", formatTime(g.toMs)},
                        {"from_ms", g.fromMs},
                        {"to_ms", g.toMs}});
      }
      reply(json{{"stream", stream},
                 {"from", formatTime(fromMs)},
                 {"to", formatTime(toMs)},
                 {"segments", list},
                 {"gaps", gaps}}
                .dump());
    });
  }
  ensureWriter();
}

std::vector<SegmentFile> RecorderService::listSegments(Retention& index, const std::string& stream,
                                                       int64_t fromMs, int64_t toMs) {
  if (!db_) return index.query(stream, fromMs, toMs);
  std::vector<SegmentFile> out;
  for (const IndexRow& r : db_->query(stream, fromMs, toMs)) {
    std::string path = absoluteUnderRoot(dbRoot_, r.path);
    // A file deleted outside the server leaves the index on its first listing.
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec) {
      spdlog::info("recorder: {} is gone, removed from the index", path);
      db_->remove(r.path);
      index.remove(stream, path);
      retainedBytes_.store(index.totalBytes());
      continue;
    }
    out.push_back({std::move(path), r.startMs, r.bytes, r.endMs});
  }
  return out;
}

void RecorderService::ensureWriter() {
  std::lock_guard lk(mu_);
  if (!writer_.joinable()) writer_ = std::thread([this] { writerLoop(); });
}

void RecorderService::writerLoop() {
  ConfigPtr cfg = config();
  Retention retention;
  dbRoot_ = cfg->root;
  while (dbRoot_.size() > 1 && dbRoot_.ends_with('/')) dbRoot_.pop_back();
  db_ = openIndex(dbRoot_, retention, probeDurationMs);
  retainedBytes_.store(retention.totalBytes());
  spdlog::info("recorder: {} files, {} bytes under {}", retention.fileCount(),
               retention.totalBytes(), cfg->root);
  bool retentionDue = true;
  auto finished = [&](const std::string& stream, SegmentFile f) {
    if (db_ && !db_->insert({stream, relativeToRoot(dbRoot_, f.path), f.startEpochMs, f.endEpochMs,
                             f.bytes}))
      spdlog::warn("recorder: index: cannot add {}: {}", f.path, db_->lastError());
    retention.add(stream, std::move(f));
    retentionDue = true;
  };
  // Every channel with a writer; a channel stays in channels_ after its stream ended (for the
  // status) until a republish replaces it, so the writer marks the ones it has retired.
  std::vector<std::unique_ptr<StreamWriter>> writers;
  int64_t lastAgeCheck = steadyMs();
  Item item;
  while (true) {
    bool quitting = quit_.load();
    cfg = config();
    {
      std::lock_guard lk(mu_);
      for (auto& [_, ch] : channels_) {
        if (ch->retired.load() || ch->adopted) continue;
        ch->adopted = true;
        writers.push_back(std::make_unique<StreamWriter>(ch, finished));
      }
    }
    std::vector<std::function<void(Retention&)>> queries;
    {
      std::lock_guard lk(mu_);
      queries.swap(queries_);
    }
    for (auto& q : queries) q(retention);
    size_t work = 0;
    int64_t now = steadyMs();
    for (auto it = writers.begin(); it != writers.end();) {
      StreamWriter& w = **it;
      Channel& ch = w.channel();
      // Read before draining: frames pushed before the producer left are then all seen.
      bool gone = ch.producerGone.load(std::memory_order_acquire);
      // A bounded batch per stream per round keeps streams fair.
      int budget = (gone || quitting) ? INT32_MAX : 512;
      for (int i = 0; i < budget && ch.ring.pop(item); ++i, ++work) w.handle(item, *cfg, now);
      item = Item{};
      if (gone || quitting) {
        w.closeFile();
        w.closeClip();
        ch.retired.store(true);
        it = writers.erase(it);
      } else {
        ++it;
      }
    }
    if (now - lastAgeCheck >= 10000) {
      retentionDue = true;
      lastAgeCheck = now;
    }
    if (retentionDue) {
      retentionDue = false;
      auto limitsOf = [&cfg](const std::string& stream) {
        const Rule* r = findRule(*cfg, stream);
        return r ? Limits{r->maxAgeSeconds, r->maxBytes} : Limits{};
      };
      std::vector<SegmentFile> doomed =
          retention.collect(epochMs(), limitsOf, Limits{cfg->maxAgeSeconds, cfg->maxBytes});
      if (db_ && !doomed.empty()) db_->begin();
      for (const SegmentFile& f : doomed) {
        std::error_code ec;
        std::filesystem::remove(f.path, ec);
        if (ec) {
          spdlog::warn("recorder: retention: cannot delete {}: {}", f.path, ec.message());
        } else {
          spdlog::info("recorder: retention: deleted {} ({} bytes)", f.path, f.bytes);
          if (db_) db_->remove(relativeToRoot(dbRoot_, f.path));
        }
        retentionDeleted_.fetch_add(1);
      }
      if (db_ && !doomed.empty() && !db_->commit())
        spdlog::warn("recorder: index: {}", db_->lastError());
      retainedBytes_.store(retention.totalBytes());
    }
    if (quitting) break;
    // Idle: a short sleep rather than a wake-up from the producers, so a frame costs the worker
    // no syscall; 10 ms of latency is nothing for a recording.
    if (work == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  db_.reset();  // closed on the thread that used it
}

std::string RecorderService::statusJson() const {
  using nlohmann::json;
  json list = json::array();
  std::lock_guard lk(mu_);
  for (auto& [name, ch] : channels_) {
    std::string err;
    {
      std::lock_guard el(ch->errorMu);
      err = ch->lastError;
    }
    list.push_back({{"stream", name},
                    {"recording", ch->wanted.load()},
                    {"writing", ch->writing.load()},
                    {"failed", ch->failed.load()},
                    {"last_error", err},
                    {"frames_queued", ch->framesQueued.load()},
                    {"frames_dropped", ch->framesDropped.load()},
                    {"drop_incidents", ch->dropIncidents.load()},
                    {"disk_errors", ch->diskErrors.load()},
                    {"files_written", ch->filesWritten.load()},
                    {"clips_written", ch->clipsWritten.load()},
                    {"bytes_written", ch->bytesWritten.load()}});
  }
  return json{{"streams", list},
              {"retained_bytes", retainedBytes_.load()},
              {"retention_deleted_files", retentionDeleted_.load()}}
      .dump();
}

std::string RecorderService::metricsText() const {
  std::string out;
  auto line = [&out](const char* name, const std::string& stream, uint64_t v) {
    out += name;
    out += "{stream=\"" + stream + "\"} " + std::to_string(v) + "\n";
  };
  std::lock_guard lk(mu_);
  out += "# TYPE xl_recorder_failed gauge\n";
  for (auto& [n, ch] : channels_) line("xl_recorder_failed", n, ch->failed.load());
  out += "# TYPE xl_recorder_frames_dropped_total counter\n";
  for (auto& [n, ch] : channels_)
    line("xl_recorder_frames_dropped_total", n, ch->framesDropped.load());
  out += "# TYPE xl_recorder_drop_incidents_total counter\n";
  for (auto& [n, ch] : channels_)
    line("xl_recorder_drop_incidents_total", n, ch->dropIncidents.load());
  out += "# TYPE xl_recorder_disk_errors_total counter\n";
  for (auto& [n, ch] : channels_) line("xl_recorder_disk_errors_total", n, ch->diskErrors.load());
  out += "# TYPE xl_recorder_bytes_written_total counter\n";
  for (auto& [n, ch] : channels_)
    line("xl_recorder_bytes_written_total", n, ch->bytesWritten.load());
  out += "# TYPE xl_recorder_retained_bytes gauge\nxl_recorder_retained_bytes " +
         std::to_string(retainedBytes_.load()) + "\n";
  out +=
      "# TYPE xl_recorder_retention_deleted_files_total counter\n"
      "xl_recorder_retention_deleted_files_total " +
      std::to_string(retentionDeleted_.load()) + "\n";
  return out;
}

}  // namespace xl::recorder
