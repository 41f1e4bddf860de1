// Segmenter: cuts a stream's frames into HLS media segments (RFC 8216 3, 6.2.1) and LL-HLS
// partial segments (draft-pantos-hls-rfc8216bis 4.4.4.9), keeps the sliding window and renders
// one immutable Snapshot per finished part or segment. The cutting logic is the same for every
// container; a SegmentWriter makes the bytes. Pure logic: no event loop, driven by the caller on
// the stream's worker, so tests feed it frames directly.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "hls/playlist.h"
#include "hls/segment_writer.h"
#include "xueliang/frame.h"
#include "xueliang/track.h"

namespace xl::hls {

struct SegmenterConfig {
  // Cut at the first keyframe at least ~this long after the start. TARGETDURATION is declared
  // from it (rounded up to whole seconds) and never grows: a GOP longer than that is cut at a
  // non-key frame so that every EXTINF rounds to at most TARGETDURATION (RFC 8216 4.3.3.1).
  int64_t targetMs = 2000;
  int64_t partTargetMs = 333;  // LL-HLS part target; 0: no parts
  size_t window = 6;           // segments listed in the playlist
  size_t extraKept = 3;        // older segments still served after leaving the playlist
  int64_t maxGapMs = 5000;     // a forward timestamp jump larger than this is a discontinuity
  size_t maxSegmentBytes = 64 << 20;  // an open segment larger than this is dropped
  Container container = Container::kTs;
};

class Segmenter {
 public:
  using WallClock = std::function<int64_t()>;  // ms since the Unix epoch
  // `previous`: the last snapshot of an earlier source of the same stream; numbering goes on
  // from it and the next segment carries EXT-X-DISCONTINUITY (RFC 8216 6.2.1).
  Segmenter(SegmenterConfig cfg, WallClock wall, SnapshotPtr previous = nullptr);

  // New track description (codec parameters). Closes the open segment when it changes.
  SnapshotPtr setMediaInfo(const MediaInfoPtr& info);
  // Returns the new snapshot when this frame completed a part or a segment, else nullptr.
  SnapshotPtr onFrame(const Frame& f);
  // The source ended: the open segment is finished and published.
  SnapshotPtr finish();
  const MediaInfoPtr& mediaInfo() const { return media_; }
  int targetDurationS() const { return targetS_; }

 private:
  void startSegment(const Frame& f, bool independent);
  void startPart(bool independent);
  void closePart(int64_t endDts);
  void closeSegment(int64_t endDts);
  SnapshotPtr publish();
  void discontinuity();

  SegmenterConfig cfg_;
  WallClock wall_;
  MediaInfoPtr media_;
  std::unique_ptr<SegmentWriter> writer_;
  bool hasVideo_ = false, hasAudio_ = false;
  BufferRef init_;
  // The open segment and its open part.
  bool open_ = false;
  bool openDisc_ = false;
  bool openIndependent_ = false;
  int64_t openStart_ = 0;
  int64_t openPdt_ = 0;
  BufferWriter cur_{256 * 1024};
  std::vector<PartPtr> parts_;
  bool partOpen_ = false;
  bool partIndependent_ = false;
  bool partHasVideo_ = false;
  int64_t partStart_ = 0;
  // Timeline.
  bool pendingDisc_ = false;
  bool anchored_ = false;
  int64_t anchorWall_ = 0, anchorDts_ = 0;
  int64_t lastVideoDts_ = INT64_MIN, lastAudioDts_ = INT64_MIN, lastDts_ = INT64_MIN;
  int64_t lastKeyDts_ = INT64_MIN;
  int64_t gopMs_ = 0;     // last keyframe interval
  int64_t frameMs_ = 40;  // last video frame interval, to close a segment at a source's end
  std::vector<SegmentPtr> segments_;
  uint64_t nextMsn_ = 0;
  uint64_t discSeq_ = 0;
  int targetS_ = 2;
};

}  // namespace xl::hls
