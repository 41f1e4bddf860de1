#include "xueliang/viewer_output.h"

namespace xl {

bool ViewerOutput::aboveHigh() const {
  return conn_.queuedBytes() > limits_.highWatermarkBytes ||
         conn_.queuedMediaMs() > limits_.highWatermarkMs;
}

bool ViewerOutput::belowLow() const {
  return conn_.queuedBytes() <= limits_.highWatermarkBytes / 2 &&
         conn_.queuedMediaMs() <= limits_.highWatermarkMs / 2;
}

bool ViewerOutput::admit(const MuxedBatch& b) {
  if (b.config) return true;
  if (b.kind == MediaKind::kAudio) return !aboveHigh();
  if (waitKey_) {
    if (!b.key || !belowLow()) return false;
    waitKey_ = false;
    return true;
  }
  if (aboveHigh()) {
    waitKey_ = true;
    return false;
  }
  return true;
}

void ViewerOutput::join(const BufferRef& header, const std::vector<MuxedBatch>& gop) {
  if (header) conn_.queue(header);
  for (const MuxedBatch& b : gop) {
    if (admit(b)) {
      conn_.queue(b.bytes, b.dts);
      if (b.kind == MediaKind::kVideo) videoSeen_ = true;
    } else {
      ++drops_, conn_.worker().stats().viewerDrops.add();
    }
  }
  pending_ = false;
  conn_.flush();
}

void ViewerOutput::deliver(const MuxedBatch& b) {
  if (conn_.closing()) return;
  if (!admit(b)) {
    ++drops_;
    conn_.worker().stats().viewerDrops.add();
    return;
  }
  conn_.queue(b.bytes, b.dts);
  if (b.kind == MediaKind::kVideo) videoSeen_ = true;
  if (limits_.mergeWindowMs == 0) return deliverRealtime(b);
  // Merge mode: the window opens with the first unflushed frame and is closed by the delivery
  // of a later frame, so no timer per viewer is needed. A stream that pauses leaves at most one
  // window queued until its next frame (or until the session ends and flushes).
  holdFor(limits_.mergeWindowMs);
  if (conn_.queuedBytes() >= kMergeFlushBytes) flushPending();
}

// Video and codec configuration leave at once. Audio (AAC alone is ~43 frames/s) rides with the
// next video frame, so a viewer costs one writev per video frame rather than one per frame; the
// player's buffer is bounded by its newest video anyway. Audio-only streams, or audio while the
// video has paused for kAudioHoldMs, are written without waiting.
void ViewerOutput::deliverRealtime(const MuxedBatch& b) {
  if (b.kind != MediaKind::kAudio || b.config || !videoSeen_) return flushPending();
  holdFor(kAudioHoldMs);
}

void ViewerOutput::holdFor(uint64_t windowMs) {
  uint64_t now = conn_.worker().nowMs();
  if (!pending_) {
    pending_ = true;
    pendingSinceMs_ = now;
  }
  if (now - pendingSinceMs_ >= windowMs) flushPending();
}

void ViewerOutput::flushPending() {
  pending_ = false;
  conn_.flush();
}

bool ViewerOutput::stalled(uint64_t nowMs) const {
  return conn_.queuedBytes() > 0 && nowMs - conn_.lastProgressMs() > limits_.stallTimeoutMs;
}

}  // namespace xl
