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
  flushPending();
}

void ViewerOutput::deliver(const MuxedBatch& b) {
  deliverRange(b, 0, b.bytes.size());
}

void ViewerOutput::deliverTrack(const MuxedBatch& b, MediaKind track) {
  if (b.audioBytes == 0) {
    if (b.kind == track) deliver(b);
    return;
  }
  // Rare (players take every track), so the copies of the batch's description do not matter.
  MuxedBatch part = b;
  part.audioBytes = 0;
  if (track == MediaKind::kVideo)
    return deliverRange(part, b.audioBytes, b.bytes.size() - b.audioBytes);
  part.kind = MediaKind::kAudio;
  part.key = false;
  deliverRange(part, 0, b.audioBytes);
}

void ViewerOutput::deliverRange(const MuxedBatch& b, size_t offset, size_t len) {
  if (conn_.closing()) return;
  MediaKind kind = b.kind;
  if (!admit(b)) {
    ++drops_;
    conn_.worker().stats().viewerDrops.add();
    // The audio riding with a skipped video frame still plays, as audio on its own would.
    if (b.audioBytes == 0 || aboveHigh()) return;
    conn_.queue(b.bytes, offset, b.audioBytes, b.dts);
    kind = MediaKind::kAudio;
  } else {
    conn_.queue(b.bytes, offset, len, b.dts);
    if (kind == MediaKind::kVideo) videoSeen_ = true;
  }
  if (limits_.mergeWindowMs == 0) return deliverRealtime(kind, b.config);
  // Merge mode: the window opens with the first unflushed frame and is closed by the delivery
  // of a later frame or, when the stream pauses, by the worker's FlushTimer.
  holdFor(limits_.mergeWindowMs);
  if (conn_.queuedBytes() >= kMergeFlushBytes) flushPending();
}

// Video and codec configuration leave at the end of this loop iteration, together with whatever
// else reaches the viewer in it: an encoder that sends several frames in one TCP segment (ffmpeg
// and OBS fill 32 KiB before sending) costs one writev per read, not one per frame, with no added
// latency. Audio (AAC alone is ~43 frames/s) rides with the next video frame, so a viewer costs
// at most one writev per video frame; the player's buffer is bounded by its newest video anyway.
// Audio-only streams are written without waiting for video; audio held while the video pauses
// leaves after kAudioHoldMs (FlushTimer). Formats with OutputFormat::coalesceAudio get audio
// already joined to video by the stream.
void ViewerOutput::deliverRealtime(MediaKind kind, bool config) {
  if (kind != MediaKind::kAudio || config || !videoSeen_) {
    if (!pending_) pendingSinceMs_ = conn_.worker().nowMs();
    pending_ = true;
    conn_.worker().flushTimer().scheduleSoon(*this);
    return;
  }
  holdFor(kAudioHoldMs);
}

void ViewerOutput::holdFor(uint64_t windowMs) {
  uint64_t now = conn_.worker().nowMs();
  if (!pending_) {
    pending_ = true;
    pendingSinceMs_ = now;
    conn_.worker().flushTimer().schedule(*this, now + windowMs);
  }
  if (now - pendingSinceMs_ >= windowMs) flushPending();
}

void ViewerOutput::onDue() {
  if (pending_) flushPending();
}

void ViewerOutput::flushPending() {
  pending_ = false;
  cancel();
  conn_.flush();
}

bool ViewerOutput::stalled(uint64_t nowMs) const {
  return conn_.queuedBytes() > 0 && nowMs - conn_.lastProgressMs() > limits_.stallTimeoutMs;
}

}  // namespace xl
