// Segment cutting and the sliding window, RFC 8216 6.2.1 / 6.2.2.
#include "hls/segmenter.h"

#include <algorithm>

namespace xl::hls {

Segmenter::Segmenter(SegmenterConfig cfg, WallClock wall, SnapshotPtr previous)
    : cfg_(cfg), wall_(std::move(wall)) {
  if (cfg_.window == 0) cfg_.window = 1;
  targetS_ = static_cast<int>(std::max<int64_t>(1, (cfg_.targetMs + 999) / 1000));
  if (previous) {
    segments_ = previous->segments;
    nextMsn_ = previous->nextMsn();
    discSeq_ = previous->discontinuitySequence;
    targetS_ = std::max(targetS_, previous->targetDurationS);
    pendingDisc_ = !segments_.empty();
  }
}

SnapshotPtr Segmenter::setMediaInfo(const MediaInfoPtr& info) {
  if (!info || info == media_) return nullptr;
  bool hadMedia = media_ != nullptr;
  media_ = info;
  ts_.setMediaInfo(*info);  // a track that does not parse is left out
  hasVideo_ = ts_.hasVideo();
  if (!hadMedia) return nullptr;
  // New codec parameters mid-stream: the next segment starts on new ones (6.2.1 asks for
  // EXT-X-DISCONTINUITY on encoding parameter changes).
  SnapshotPtr s;
  if (open_) {
    closeOpen(lastDts_ + frameMs_);
    s = publish();
  }
  discontinuity();
  return s;
}

void Segmenter::discontinuity() {
  open_ = false;
  cur_.clear();
  pendingDisc_ = true;
  anchored_ = false;
  lastVideoDts_ = lastAudioDts_ = lastDts_ = INT64_MIN;
}

void Segmenter::start(const Frame& f) {
  cur_.clear();
  ts_.writeTables(cur_);
  open_ = true;
  openStart_ = f.dts;
  openDisc_ = pendingDisc_;
  pendingDisc_ = false;
  if (!anchored_) {  // EXT-X-PROGRAM-DATE-TIME maps stream time to the wall clock
    anchored_ = true;
    anchorWall_ = wall_();
    anchorDts_ = f.dts;
  }
  openPdt_ = anchorWall_ + (f.dts - anchorDts_);
}

void Segmenter::closeOpen(int64_t endDts) {
  auto seg = std::make_shared<Segment>();
  seg->msn = nextMsn_++;
  seg->startDts = openStart_;
  seg->durationMs = std::max<int64_t>(1, endDts - openStart_);
  seg->programDateMs = openPdt_;
  seg->discontinuity = openDisc_;
  seg->data = cur_.freeze();
  open_ = false;
  // EXTINF rounded to the nearest integer must not exceed the target duration (4.3.3.1).
  targetS_ = std::max(targetS_, static_cast<int>((seg->durationMs + 500) / 1000));
  segments_.push_back(std::move(seg));
  // One segment in, one out of the window: count the discontinuity it takes along (4.3.3.3).
  if (segments_.size() > cfg_.window &&
      segments_[segments_.size() - cfg_.window - 1]->discontinuity)
    ++discSeq_;
  while (segments_.size() > cfg_.window + cfg_.extraKept) segments_.erase(segments_.begin());
}

SnapshotPtr Segmenter::publish() {
  auto s = std::make_shared<Snapshot>();
  s->segments = segments_;
  s->windowStart = segments_.size() > cfg_.window ? segments_.size() - cfg_.window : 0;
  s->discontinuitySequence = discSeq_;
  s->targetDurationS = targetS_;
  s->container = Container::kTs;
  s->playlist = BufferRef::copyOf(renderPlaylist(*s));
  return s;
}

SnapshotPtr Segmenter::onFrame(const Frame& f) {
  if (f.flags.config || !media_) return nullptr;
  bool video = f.kind == MediaKind::kVideo;
  if (video && !hasVideo_) return nullptr;
  if (!video && !ts_.hasAudio()) return nullptr;

  SnapshotPtr out;
  // Timestamps that go back on a track, or jump far ahead, start a new timeline.
  int64_t& lastKind = video ? lastVideoDts_ : lastAudioDts_;
  bool jump = lastKind != INT64_MIN && (f.dts < lastKind || f.dts - lastKind > cfg_.maxGapMs);
  if (f.flags.discontinuity || jump) {
    if (open_) {
      closeOpen(lastDts_ + frameMs_);
      out = publish();
    }
    discontinuity();
  }

  bool cutPoint = hasVideo_ ? (video && f.flags.key) : true;
  if (open_ && cutPoint) {
    // Cut at the first keyframe within 10% of the target duration (keyframes every 2 s
    // with a 2 s target give one GOP per segment despite timestamp jitter).
    int64_t slack = hasVideo_ ? cfg_.targetMs / 10 : 0;
    if (f.dts - openStart_ >= cfg_.targetMs - slack) {
      closeOpen(f.dts);
      out = publish();
    }
  }
  if (!open_) {
    if (!cutPoint) return out;  // wait for a keyframe: every segment starts decodable
    start(f);
  }
  if (video) {
    if (lastVideoDts_ != INT64_MIN && f.dts > lastVideoDts_)
      frameMs_ = std::min<int64_t>(f.dts - lastVideoDts_, 1000);
    lastVideoDts_ = f.dts;
  } else {
    lastAudioDts_ = f.dts;
    if (!hasVideo_) frameMs_ = 23;
  }
  lastDts_ = std::max(lastDts_, f.dts);
  if (!ts_.writeFrame(f, cur_)) return out;  // a malformed frame is skipped
  if (cur_.size() > cfg_.maxSegmentBytes) {  // no keyframe for far too long: bound memory
    discontinuity();
  }
  return out;
}

SnapshotPtr Segmenter::finish() {
  if (!open_) return nullptr;
  closeOpen(lastDts_ + frameMs_);
  SnapshotPtr s = publish();
  discontinuity();
  return s;
}

}  // namespace xl::hls
