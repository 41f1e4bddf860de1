// HLS media playlists (RFC 8216 4.3; draft-pantos-hls-rfc8216bis 4.4) rendered from an
// immutable snapshot of the segment window. A snapshot is built once per new segment on the
// stream's worker and read by every HTTP request on any worker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xueliang/buffer.h"

namespace xl::hls {

enum class Container : uint8_t { kTs, kFmp4 };
const char* containerName(Container c);
const char* segmentExtension(Container c);  // "ts" / "m4s"
const char* segmentMimeType(Container c);   // "video/mp2t" / "video/mp4"

// One finished media segment. Immutable once published.
struct Segment {
  uint64_t msn = 0;           // media sequence number (RFC 8216 3)
  int64_t startDts = 0;       // ms, stream time of the first frame
  int64_t durationMs = 0;     // EXTINF
  int64_t programDateMs = 0;  // wall clock of the first frame, ms since the Unix epoch
  bool discontinuity = false;
  BufferRef data;
};
using SegmentPtr = std::shared_ptr<const Segment>;

// What one publication of the window holds. `segments` may keep a few segments older than the
// playlist window so that a client that read the previous playlist can still fetch them
// (RFC 8216 6.2.2).
struct Snapshot {
  std::vector<SegmentPtr> segments;    // oldest first
  size_t windowStart = 0;              // index of the first segment listed in the playlist
  uint64_t discontinuitySequence = 0;  // EXT-X-DISCONTINUITY-SEQUENCE of the first listed one
  int targetDurationS = 2;
  bool ended = false;  // the publisher left; no more segments from this source
  Container container = Container::kTs;
  BufferRef initSegment;  // fMP4 only: EXT-X-MAP
  BufferRef playlist;     // rendered once per snapshot

  uint64_t nextMsn() const { return segments.empty() ? 0 : segments.back()->msn + 1; }
  // The segment with this sequence number, or nullptr.
  SegmentPtr find(uint64_t msn) const;
};
using SnapshotPtr = std::shared_ptr<const Snapshot>;

// Renders the media playlist of a snapshot (RFC 8216 4.3.1-4.3.3): EXT-X-VERSION,
// TARGETDURATION, MEDIA-SEQUENCE, DISCONTINUITY-SEQUENCE, then per segment
// EXT-X-DISCONTINUITY, EXT-X-PROGRAM-DATE-TIME and EXTINF. Segment URIs are relative:
// "seg{msn}.{ext}".
std::string renderPlaylist(const Snapshot& s);

// "2024-05-01T12:00:00.000Z" (RFC 3339 as RFC 8216 4.3.2.6 asks).
std::string formatProgramDate(int64_t unixMs);

}  // namespace xl::hls
