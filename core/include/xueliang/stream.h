// Stream: one published stream, living on its publisher's worker. It keeps the GOP cache, runs one
// muxer per output format that has viewers, and posts each muxed batch once per worker that has
// viewers of that format; the StreamMirror on that worker hands it to its local viewers.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "xueliang/muxer.h"
#include "xueliang/sink.h"
#include "xueliang/status.h"
#include "xueliang/track.h"
#include "xueliang/worker.h"

namespace xl {

class Stream;

struct PublisherInfo {
  std::string protocol;  // "rtmp", "file", ...
  std::string peer;      // "127.0.0.1:50000" or a file path
};

// The viewers of one stream on one worker. Touched only on that worker.
class StreamMirror {
 public:
  explicit StreamMirror(size_t formats) : active_(formats), pending_(formats) {}
  void add(Viewer* v, int format) { pending_[format].push_back(v); }
  void remove(Viewer* v, int format);
  void join(int format, const BufferRef& header, const std::vector<MuxedBatch>& gop);
  void deliver(int format, const MuxedBatch& batch);
  void end();
  // Ends only the viewers of `format` still waiting for their snapshot.
  void endPending(int format);

 private:
  std::vector<std::vector<Viewer*>> active_;
  std::vector<std::vector<Viewer*>> pending_;  // waiting for their snapshot
  bool delivering_ = false;
};

struct StreamLimits {
  size_t gopCacheMaxBytes = 16 << 20;  // a GOP larger than this is not cached
};

// Figures for the admin API, readable from any thread.
struct StreamStats {
  MediaInfoPtr media;
  double fps = 0;
  double bitrateKbps = 0;
  double uptimeSec = 0;
  std::vector<int> viewers;  // per output format
  uint64_t frames = 0;
  uint64_t bytesIn = 0;
};

class Stream : public std::enable_shared_from_this<Stream> {
 public:
  // coalesceAudio formats: the longest audio waits for a video frame to travel with.
  static constexpr uint64_t kAudioHoldMs = 100;

  Stream(std::string name, Worker& owner, std::vector<Worker*> workers,
         const std::vector<OutputFormat>& formats, PublisherInfo publisher, StreamLimits limits);
  ~Stream();

  const std::string& name() const { return name_; }
  Worker& owner() { return owner_; }
  const PublisherInfo& publisher() const { return publisher_; }

  // Owner worker only.
  void setMediaInfo(MediaInfoPtr info);
  void pushFrame(const Frame& frame);
  void end();
  void addFrameSink(std::unique_ptr<FrameSink> sink);
  // As addFrameSink, then hands the sink the cached GOP (frames since the last video keyframe,
  // if the cache is valid) before any live frame, so it can start at once (HLS segmenter).
  void addFrameSinkWithGop(std::unique_ptr<FrameSink> sink);
  // Destroys a sink added before; no-op if it is not there. Not from inside the sink's own
  // callbacks: post it to the owner worker instead.
  void removeFrameSink(FrameSink* sink);
  void setKickHandler(std::function<void()> fn) { kick_ = std::move(fn); }
  // Set by a publisher or pulled source that can ask its origin for a keyframe (RTCP PLI to a
  // WHIP browser or an RTSP camera); requestKeyframe() calls it.
  void setKeyframeHook(std::function<void()> fn) { keyframeHook_ = std::move(fn); }
  // Called on the owner whenever a viewer or frame sink comes or goes: an on-demand source
  // starts with its first consumer and stops some time after the last.
  void setDemandHook(std::function<void()> fn) { demandHook_ = std::move(fn); }
  size_t frameSinkCount() const { return frameSinks_.size(); }
  // Viewers still waiting for a first keyframe are told the stream ended; joined viewers stay
  // (an on-demand source that could not start within its wait bound).
  void endWaitingViewers();
  bool ended() const { return ended_; }

  // Any thread.
  void kick();
  // A viewer's decoder needs a keyframe (WebRTC PLI/FIR). At most one request a second per
  // stream reaches the keyframe hook, on the owner; without a hook it is ignored.
  void requestKeyframe();
  StreamStats stats() const;
  MediaInfoPtr mediaInfo() const { return std::atomic_load(&media_); }
  // Viewers of `format` served without attach() (HLS: request-based sessions), counted in
  // stats() only.
  void countViewer(int format, int delta) { viewers_[format].fetch_add(delta); }
  // Whether the source delivers: a pulled camera between two connections does not, while its
  // viewers stay. Set by whoever feeds the stream; sessions that tell their viewers (WebRTC data
  // channel events) poll it. sourceChanges() counts every change, so that a loss and recovery
  // between two looks is still seen.
  void setSourceLive(bool live) {
    if (sourceLive_.exchange(live) != live) sourceChanges_.fetch_add(1);
  }
  bool sourceLive() const { return sourceLive_.load(std::memory_order_relaxed); }
  uint64_t sourceChanges() const { return sourceChanges_.load(std::memory_order_relaxed); }

  // The viewer's worker only. The viewer gets onJoin, then onBatch..., until detach or onStreamEnd.
  void attach(Viewer* v, int format, Worker& w);
  void detach(Viewer* v, int format, Worker& w);

 private:
  struct Output {
    std::unique_ptr<Muxer> muxer;
    std::vector<int> wanted;  // viewers per worker
    int totalWanted = 0;
    bool primed = false;  // gop mirrors the frame cache
    BufferRef header;
    std::vector<MuxedBatch> gop;
    // coalesceAudio formats: audio batches waiting to ride with the next video frame.
    std::vector<MuxedBatch> heldAudio;
    size_t heldBytes = 0;
    uint64_t heldSinceMs = 0;
  };
  void onAttach(int format, int workerIndex);
  void onDetach(int format, int workerIndex);
  void prime(Output& out);
  void resetCaches();
  void muxInto(int format, Output& out, const Frame& f, bool fanOut);
  // Hands one batch to every worker with viewers of `format`.
  void send(int format, Output& out, const MuxedBatch& b);
  // Sends the held audio (coalesceAudio) as one audio batch, e.g. when video has paused.
  void releaseHeldAudio(int format, Output& out);

  std::string name_;
  Worker& owner_;
  std::vector<Worker*> workers_;
  const std::vector<OutputFormat>& formats_;
  PublisherInfo publisher_;
  StreamLimits limits_;
  std::vector<std::shared_ptr<StreamMirror>> mirrors_;  // one per worker, fixed at creation
  std::vector<Output> outputs_;                         // one per format, owner only
  std::vector<std::unique_ptr<FrameSink>> frameSinks_;
  std::vector<Frame> gopFrames_;                   // since the last video keyframe
  std::vector<std::pair<int, int>> waitingJoins_;  // (format, worker) until a keyframe
  size_t gopBytes_ = 0;
  bool gopValid_ = false;
  bool ended_ = false;
  std::function<void()> kick_;
  std::function<void()> keyframeHook_;
  std::atomic<int64_t> lastKeyframeRequestMs_{-1000000};
  std::function<void()> demandHook_;
  MediaInfoPtr media_;

  // Statistics: written on the owner, read by the admin API.
  uint64_t startMs_;
  mutable std::mutex statsMu_;
  double fps_ = 0, kbps_ = 0;
  uint64_t frames_ = 0, bytesIn_ = 0;
  uint64_t windowStartMs_ = 0, windowFrames_ = 0, windowBytes_ = 0;
  int64_t videoFirstDts_ = 0;
  uint64_t videoFrames_ = 0;
  std::unique_ptr<std::atomic<int>[]> viewers_;
  std::atomic<bool> sourceLive_{true};
  std::atomic<uint64_t> sourceChanges_{0};
};

using StreamPtr = std::shared_ptr<Stream>;

// Live streams by "{app}/{stream}". Lookups happen at publish and play, never per frame.
class StreamRegistry {
 public:
  StreamRegistry(std::vector<Worker*> workers, const std::vector<OutputFormat>& formats)
      : workers_(std::move(workers)), formats_(formats) {}
  void setLimits(StreamLimits l) {
    std::lock_guard lk(mu_);
    limits_ = l;
  }
  // Fails if the name is live already.
  Result<StreamPtr> publish(const std::string& name, Worker& owner, PublisherInfo publisher);
  StreamPtr find(const std::string& name) const;
  // Removes the stream if it is still the one registered under its name.
  void remove(const Stream& s);
  std::vector<StreamPtr> list() const;
  const std::vector<OutputFormat>& formats() const { return formats_; }

 private:
  std::vector<Worker*> workers_;
  const std::vector<OutputFormat>& formats_;
  mutable std::mutex mu_;
  StreamLimits limits_;
  std::unordered_map<std::string, StreamPtr> streams_;
};

}  // namespace xl
