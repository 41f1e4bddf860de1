// ViewerOutput: the back-pressure policy every viewer session shares (DESIGN.md §4.6). Above the
// high watermark (media time or bytes queued) a viewer skips video until the next keyframe and
// drops audio, so a viewer that stops reading costs at most its watermark; codec configuration is
// never dropped. A viewer that makes no write progress for the stall timeout is disconnected.
// Write batching: in realtime mode (mergeWindowMs 0) every video frame is written at the end of
// the loop iteration that delivered it (or in a following one: with many viewers the worker's
// FlushTimer slices that pass so joins are not held up), with the audio that arrived since the
// previous one and any other frame delivered until then (audio alone never waits over
// kAudioHoldMs); in merge mode a viewer's frames wait in its queue and leave in one writev once
// the oldest has waited the merge window (or the queue passes kMergeFlushBytes), trading latency
// for fewer syscalls. A later frame's delivery flushes a window that is due; when none comes (the
// stream paused), the worker's FlushTimer does, so nothing waits longer than its window. Joining
// (header + cached GOP) is always written at once, so start-up stays fast.
#pragma once

#include <cstdint>
#include <vector>

#include "xueliang/connection.h"
#include "xueliang/flush_timer.h"
#include "xueliang/muxer.h"

namespace xl {

struct ViewerLimits {
  int64_t highWatermarkMs = 2000;
  size_t highWatermarkBytes = 4 << 20;
  uint64_t stallTimeoutMs = 10000;
  uint32_t mergeWindowMs = 0;  // 0: realtime
};

class ViewerOutput : private FlushTimer::Entry {
 public:
  ViewerOutput(TcpConnection& conn, const ViewerLimits& limits) : conn_(conn), limits_(limits) {}
  // Merge mode: whether queued frames wait for the window (or for a video frame, in realtime).
  bool pending() const { return pending_; }

  // Queues the format header and cached GOP (which starts on a keyframe), then writes.
  void join(const BufferRef& header, const std::vector<MuxedBatch>& gop);
  // Applies the drop policy, queues, writes.
  void deliver(const MuxedBatch& batch);
  // For a viewer that takes one of the stream's tracks: delivers only that track's bytes of the
  // batch (a video batch may carry coalesced audio ahead of the video, MuxedBatch::audioBytes).
  void deliverTrack(const MuxedBatch& batch, MediaKind track);
  // True when output has been waiting longer than the stall timeout with no progress.
  bool stalled(uint64_t nowMs) const;
  uint64_t drops() const { return drops_; }
  // Merge mode: writes what is queued now (used when a session ends or must not wait).
  void flushPending();

  // Merge mode flushes early above this many queued bytes (a high-bitrate stream).
  static constexpr size_t kMergeFlushBytes = 256 * 1024;
  // Realtime mode: the longest audio waits for a video frame to travel with.
  static constexpr uint64_t kAudioHoldMs = 100;

 private:
  bool admit(const MuxedBatch& b);
  // deliver() of the batch's bytes [offset, offset + len).
  void deliverRange(const MuxedBatch& b, size_t offset, size_t len);
  void deliverRealtime(MediaKind kind, bool config);
  // Leaves the queue unflushed until the oldest unflushed frame has waited `windowMs`: the next
  // delivery or the worker's FlushTimer, whichever comes first, writes it then.
  void holdFor(uint64_t windowMs);
  void onDue() override;
  bool aboveHigh() const;
  bool belowLow() const;

  TcpConnection& conn_;
  ViewerLimits limits_;
  bool waitKey_ = true;     // video starts (and resumes) on a keyframe
  bool videoSeen_ = false;  // audio then rides with video frames (realtime mode)
  bool pending_ = false;    // queued, not yet flushed
  uint64_t pendingSinceMs_ = 0;
  uint64_t drops_ = 0;
};

}  // namespace xl
