// The recorder service: one per server, shared by the plugin instance and the HTTP routes.
// Each recorded stream has a Channel: its worker pushes frame references (never the payloads)
// into a bounded lock-free ring; ONE writer thread drains every ring into fragmented MP4 files.
// When a ring is full the worker drops frames until the next keyframe, counts them and logs one
// alert per incident, so a slow or full disk never stalls a worker or a live viewer.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "recorder_config.h"
#include "retention.h"
#include "spsc_ring.h"
#include "xueliang/sink.h"
#include "xueliang/status.h"

namespace xl::recorder {

class IndexDb;

struct Item {
  // kClip*: the event clip, written to its own file next to the continuous recording.
  enum Kind : uint8_t {
    kNone,
    kInfo,
    kFrame,
    kStop,
    kClipStart,
    kClipFrame,
    kClipEnd
  } kind = kNone;
  Frame frame;
  MediaInfoPtr info;                        // kInfo, kClipStart
  std::shared_ptr<const std::string> path;  // kClipStart
};

// Shared by one stream's sink (producer, on the stream's worker) and the writer thread.
struct Channel {
  Channel(std::string n, size_t capacity) : name(std::move(n)), ring(capacity) {}
  const std::string name;
  SpscRing<Item> ring;
  std::atomic<bool> wanted{false};        // recording requested (rule or API)
  std::atomic<bool> producerGone{false};  // the stream ended; drain and close
  std::atomic<int> segmentSeconds{600};
  int preEventMs = 0;  // fixed at creation: how much the sink keeps for event clips
  // An event request: the sink notices the new sequence number on its next frame.
  std::atomic<uint64_t> eventSeq{0};
  std::atomic<int> eventPreMs{0}, eventPostMs{0};
  std::shared_ptr<const std::string> eventPath;  // under errorMu
  std::atomic<uint64_t> clipsWritten{0};
  // Written by the producer.
  std::atomic<uint64_t> framesQueued{0}, framesDropped{0}, dropIncidents{0};
  // Written by the writer thread.
  std::atomic<uint64_t> bytesWritten{0}, filesWritten{0}, diskErrors{0};
  std::atomic<bool> failed{false};
  std::atomic<bool> writing{false};  // a file is open
  std::atomic<bool> retired{false};  // the writer is done with it
  bool adopted = false;              // has a writer (under the service's mutex)
  std::mutex errorMu;
  std::string lastError;
};

class RecorderService {
 public:
  RecorderService();  // out of line: IndexDb is incomplete here
  ~RecorderService();
  RecorderService(const RecorderService&) = delete;
  RecorderService& operator=(const RecorderService&) = delete;

  // The first configuration also starts the writer thread, which opens the index under `root`.
  void setConfig(ConfigPtr c);
  ConfigPtr config() const { return std::atomic_load(&config_); }

  // On the stream's worker when a stream starts: its sink (for every stream, so recording can be
  // started later through the API), or nullptr for a name unsafe as a path.
  std::unique_ptr<FrameSink> attach(const std::string& stream);
  // POST /api/v1/recordings/start|stop. Start also covers a stream that is not live yet.
  bool start(const std::string& stream);
  bool stop(const std::string& stream);
  // POST /api/v1/recordings/event: a clip of the last `preSeconds` (from a keyframe) and the next
  // `postSeconds`. Returns the clip's path, or empty when the stream is not live.
  std::string event(const std::string& stream, int preSeconds, int postSeconds);

  // GET /api/v1/recordings: the stream's finished files overlapping [fromMs, toMs) and the gaps,
  // as JSON, answered by the writer thread (which owns the index) through `reply`.
  void list(const std::string& stream, int64_t fromMs, int64_t toMs,
            std::function<void(std::string)> reply);

  // GET /api/v1/recordings/export: one MP4 of [fromMs, toMs), built on the export thread (never
  // on a worker or the writer), hashed there too; `done` runs there. At most two exports wait: more
  // are refused.
  void exportClip(const std::string& stream, int64_t fromMs, int64_t toMs,
                  std::function<void(Result<BufferRef>, std::string sha256)> done);

  std::string statusJson() const;
  std::string metricsText() const;

 private:
  void ensureWriter();
  void writerLoop();
  // On the writer thread: the listing from the SQLite index (memory when there is none).
  std::vector<SegmentFile> listSegments(Retention& index, const std::string& stream, int64_t fromMs,
                                        int64_t toMs);

  std::shared_ptr<const RecorderConfig> config_ = std::make_shared<const RecorderConfig>();
  mutable std::mutex mu_;  // channels_, requested_: touched at publish and by the API only
  std::map<std::string, std::shared_ptr<Channel>> channels_;
  std::set<std::string> requested_;                       // started through the API
  std::vector<std::function<void(Retention&)>> queries_;  // for the writer thread
  // The SQLite index (index_db.h): created, used and closed by the writer thread only; null when
  // no database can be opened (the listing then answers from memory).
  std::unique_ptr<IndexDb> db_;
  std::string dbRoot_;  // the root its paths are relative to (writer thread)
  std::thread writer_;
  // The export thread and its bounded queue.
  std::mutex exportMu_;
  std::condition_variable exportCv_;
  std::vector<std::function<void()>> exportJobs_;
  std::thread exporter_;
  std::atomic<bool> quit_{false};
  std::atomic<uint64_t> retentionDeleted_{0};
  std::atomic<uint64_t> retainedBytes_{0};
};

}  // namespace xl::recorder
