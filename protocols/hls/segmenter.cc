// Segment and part cutting and the sliding window, RFC 8216 6.2.1 / 6.2.2 and
// draft-pantos-hls-rfc8216bis 4.4.4.9 (parts), container-independent.
#include "hls/segmenter.h"

#include <algorithm>

namespace xl::hls {

Segmenter::Segmenter(SegmenterConfig cfg, WallClock wall, SnapshotPtr previous)
    : cfg_(cfg), wall_(std::move(wall)) {
  if (cfg_.window == 0) cfg_.window = 1;
  if (cfg_.partTargetMs < 0) cfg_.partTargetMs = 0;
  targetS_ = static_cast<int>(std::max<int64_t>(1, (cfg_.targetMs + 999) / 1000));
  if (previous) {
    segments_ = previous->segments;
    nextMsn_ = previous->nextMsn();
    discSeq_ = previous->discontinuitySequence;
    // The declared target never shrinks under a client that read it.
    targetS_ = std::max(targetS_, previous->targetDurationS);
    pendingDisc_ = !segments_.empty();
  }
}

SnapshotPtr Segmenter::setMediaInfo(const MediaInfoPtr& info) {
  if (!info || info == media_) return nullptr;
  bool hadMedia = media_ != nullptr;
  SnapshotPtr s;
  if (hadMedia && open_) {
    closeSegment(lastDts_ + frameMs_);
    s = publish();
  }
  media_ = info;
  // A new writer per track description: an fMP4 init segment describes exactly one.
  writer_ = makeWriter(cfg_.container);
  if (writer_) (void)writer_->setMediaInfo(*info);  // a track that does not parse is left out
  hasVideo_ = writer_ && writer_->hasVideo();
  hasAudio_ = writer_ && writer_->hasAudio();
  init_ = writer_ ? writer_->initSegment() : BufferRef();
  // New codec parameters mid-stream: the next segment starts on new ones (6.2.1 asks for
  // EXT-X-DISCONTINUITY on encoding parameter changes).
  if (hadMedia) discontinuity();
  return s;
}

void Segmenter::discontinuity() {
  open_ = false;
  partOpen_ = false;
  parts_.clear();
  cur_.clear();
  pendingDisc_ = true;
  anchored_ = false;
  lastVideoDts_ = lastAudioDts_ = lastDts_ = lastKeyDts_ = INT64_MIN;
  gopMs_ = 0;
}

void Segmenter::startSegment(const Frame& f, bool independent) {
  cur_.clear();
  parts_.clear();
  open_ = true;
  openStart_ = f.dts;
  openDisc_ = pendingDisc_;
  openIndependent_ = independent;
  pendingDisc_ = false;
  if (!anchored_) {  // EXT-X-PROGRAM-DATE-TIME maps stream time to the wall clock
    anchored_ = true;
    anchorWall_ = wall_();
    anchorDts_ = f.dts;
  }
  openPdt_ = anchorWall_ + (f.dts - anchorDts_);
  partStart_ = f.dts;
  startPart(independent);
}

void Segmenter::startPart(bool independent) {
  writer_->beginPart();
  partOpen_ = true;
  partIndependent_ = independent;
  partHasVideo_ = false;
}

void Segmenter::closePart(int64_t endDts) {
  if (!partOpen_) return;
  partOpen_ = false;
  BufferRef bytes = writer_->endPart();
  cur_.append(bytes.data(), bytes.size());
  if (cfg_.partTargetMs <= 0) return;  // classic only: the segment is all that is kept
  auto p = std::make_shared<Part>();
  p->msn = nextMsn_;
  p->index = static_cast<uint32_t>(parts_.size());
  p->durationMs = std::max<int64_t>(1, endDts - partStart_);
  p->independent = partIndependent_;
  p->data = std::move(bytes);
  parts_.push_back(std::move(p));
  partStart_ = endDts;
}

void Segmenter::closeSegment(int64_t endDts) {
  closePart(endDts);
  auto seg = std::make_shared<Segment>();
  seg->msn = nextMsn_++;
  seg->startDts = openStart_;
  seg->durationMs = std::max<int64_t>(1, endDts - openStart_);
  seg->programDateMs = openPdt_;
  seg->discontinuity = openDisc_;
  seg->independent = openIndependent_;
  seg->data = cur_.freeze();
  seg->parts = std::move(parts_);
  seg->init = init_;
  parts_.clear();
  cur_.clear();
  open_ = false;
  segments_.push_back(std::move(seg));
  // Parts are listed for the last few segments only; older ones drop them (and their bytes).
  if (segments_.size() > kSegmentsWithParts) {
    SegmentPtr& old = segments_[segments_.size() - kSegmentsWithParts - 1];
    if (!old->parts.empty()) {
      auto copy = std::make_shared<Segment>(*old);
      copy->parts.clear();
      old = std::move(copy);
    }
  }
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
  s->container = cfg_.container;
  s->firstMsn = nextMsn_;
  s->partTargetMs = cfg_.partTargetMs;
  if (open_) {
    s->openParts = parts_;
    s->openDiscontinuity = openDisc_;
    s->openInit = init_;
  } else {
    s->openDiscontinuity = pendingDisc_;
  }
  s->initSegment = init_;
  s->playlist = renderPlaylist(*s);
  if (s->partTargetMs > 0) s->delta = renderPlaylist(*s, true);
  return s;
}

SnapshotPtr Segmenter::onFrame(const Frame& f) {
  if (f.flags.config || !media_ || !writer_) return nullptr;
  bool video = f.kind == MediaKind::kVideo;
  if (video && !hasVideo_) return nullptr;
  if (!video && !hasAudio_) return nullptr;

  bool changed = false;
  // Timestamps that go back on a track, or jump far ahead, start a new timeline.
  int64_t& lastKind = video ? lastVideoDts_ : lastAudioDts_;
  bool jump = lastKind != INT64_MIN && (f.dts < lastKind || f.dts - lastKind > cfg_.maxGapMs);
  if (f.flags.discontinuity || jump) {
    if (open_) {
      closeSegment(lastDts_ + frameMs_);
      changed = true;
    }
    discontinuity();
  }

  bool key = video && f.flags.key;
  bool cutPoint = hasVideo_ ? key : true;
  if (open_) {
    int64_t elapsed = f.dts - openStart_;
    // Cut at the first keyframe within 10% of the target duration (keyframes every 2 s
    // with a 2 s target give one GOP per segment despite timestamp jitter).
    int64_t slack = hasVideo_ ? cfg_.targetMs / 10 : 0;
    // After a cut inside a GOP, the next keyframe starts a segment again at once.
    bool cut = cutPoint && (elapsed >= cfg_.targetMs - slack || (!openIndependent_ && elapsed > 0));
    // Long GOP: cut before the duration could round above the declared TARGETDURATION, into
    // equal pieces once the GOP length is known.
    int64_t step = hasVideo_ ? frameMs_ : 23;
    int64_t limit = targetS_ * 1000 + 500;
    int64_t piece = 0;
    if (gopMs_ >= limit) piece = gopMs_ / ((gopMs_ + targetS_ * 1000 - 1) / (targetS_ * 1000));
    bool force = (video || !hasVideo_) &&
                 (elapsed + step >= limit || (piece > 0 && elapsed >= piece - step / 2));
    if (cut || force) {
      closeSegment(f.dts);
      startSegment(f, cutPoint);
      changed = true;
    } else if (cfg_.partTargetMs > 0 &&
               f.dts - partStart_ + (hasAudio_ ? 23 : step) > cfg_.partTargetMs) {
      // The next frame could take the part past PART-TARGET (rfc8216bis 4.4.3.7).
      closePart(f.dts);
      startPart(false);
      changed = true;
    }
  } else {
    if (!cutPoint) return changed ? publish() : nullptr;  // segments start decodable
    startSegment(f, true);
  }
  if (key) {
    if (lastKeyDts_ != INT64_MIN && f.dts > lastKeyDts_) gopMs_ = f.dts - lastKeyDts_;
    lastKeyDts_ = f.dts;
  }
  // A part is independent when its first video frame is a keyframe.
  if (video && !partHasVideo_) {
    partHasVideo_ = true;
    partIndependent_ = partIndependent_ || key;
  }
  if (video) {
    if (lastVideoDts_ != INT64_MIN && f.dts > lastVideoDts_)
      frameMs_ = std::min<int64_t>(f.dts - lastVideoDts_, 400);
    lastVideoDts_ = f.dts;
  } else {
    lastAudioDts_ = f.dts;
    if (!hasVideo_) {
      frameMs_ = 23;
      partIndependent_ = true;  // every audio frame decodes alone
    }
  }
  lastDts_ = std::max(lastDts_, f.dts);
  // A frame that arrives before the wall time its timestamp maps to (the cached GOP handed
  // over at once, or a source running fast) moves the anchor back, so that
  // EXT-X-PROGRAM-DATE-TIME never claims media is newer than it is; the open segment's date
  // follows while it is still unpublished.
  if (int64_t ahead = anchorWall_ + (f.dts - anchorDts_) - wall_(); ahead > 0) {
    anchorWall_ -= ahead;
    openPdt_ = anchorWall_ + (openStart_ - anchorDts_);
  }
  writer_->addFrame(f);
  if (cur_.size() > cfg_.maxSegmentBytes) discontinuity();  // bound memory, whatever comes
  return changed ? publish() : nullptr;
}

SnapshotPtr Segmenter::finish() {
  if (!open_) return nullptr;
  closeSegment(lastDts_ + frameMs_);
  discontinuity();
  SnapshotPtr s = publish();
  return s;
}

}  // namespace xl::hls
