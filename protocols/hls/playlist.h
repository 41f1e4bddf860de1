// HLS media playlists (RFC 8216 4.3; draft-pantos-hls-rfc8216bis 4.4, with the LL-HLS tags)
// rendered from an immutable snapshot of the segment window. A snapshot is built once per new
// part or segment on the stream's worker and read by every HTTP request on any worker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xueliang/buffer.h"

namespace xl::hls {

enum class Container : uint8_t { kTs, kFmp4 };
const char* containerName(Container c);
const char* segmentExtension(Container c);  // "ts" / "m4s"
const char* segmentMimeType(Container c);   // "video/mp2t" / "video/mp4"

// One LL-HLS partial segment (rfc8216bis 4.4.4.9): "seg{msn}.{index}.{ext}".
struct Part {
  uint64_t msn = 0;
  uint32_t index = 0;
  int64_t durationMs = 0;
  bool independent = false;  // starts with a video keyframe (or audio only)
  BufferRef data;
};
using PartPtr = std::shared_ptr<const Part>;

// One finished media segment. Immutable once published.
struct Segment {
  uint64_t msn = 0;           // media sequence number (RFC 8216 3)
  int64_t startDts = 0;       // ms, stream time of the first frame
  int64_t durationMs = 0;     // EXTINF
  int64_t programDateMs = 0;  // wall clock of the first frame, ms since the Unix epoch
  bool discontinuity = false;
  bool independent = true;  // starts with a keyframe
  BufferRef data;           // the concatenation of its parts
  // Its parts while they are listed (the last few segments); empty for older ones.
  std::vector<PartPtr> parts;
  BufferRef init;  // fMP4: the init segment this one needs (EXT-X-MAP)
};
using SegmentPtr = std::shared_ptr<const Segment>;

// A rendered playlist plus where each URI ends, so that a per-viewer query (the session id)
// can be appended without rendering again.
struct RenderedPlaylist {
  BufferRef text;
  std::vector<uint32_t> uriEnds;
  // The text with "?{query}" (or "&{query}") after every URI.
  std::string withQuery(std::string_view query) const;
};

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
  // LL-HLS (rfc8216bis): the part target (0: no parts), and the parts of the segment being
  // produced (its msn is nextMsn(); openDiscontinuity/openPdt describe it).
  int64_t partTargetMs = 0;
  std::vector<PartPtr> openParts;
  bool openDiscontinuity = false;
  BufferRef openInit;
  BufferRef initSegment;      // fMP4: the newest init segment
  RenderedPlaylist playlist;  // full playlist, rendered once per snapshot
  RenderedPlaylist delta;     // _HLS_skip=YES form (rfc8216bis 6.2.5.1); empty without parts

  uint64_t nextMsn() const { return segments.empty() ? firstMsn : segments.back()->msn + 1; }
  uint64_t firstMsn = 0;  // nextMsn() while no segment exists
  // The segment with this sequence number, or nullptr.
  SegmentPtr find(uint64_t msn) const;
  // The part, completed or of the open segment, or nullptr.
  PartPtr findPart(uint64_t msn, uint32_t index) const;
  // The (msn, index) of the part a preload hint names: the next part to be produced.
  uint64_t hintMsn() const { return nextMsn(); }
  uint32_t hintIndex() const { return static_cast<uint32_t>(openParts.size()); }
  // Blocking reload (rfc8216bis 6.2.5.2): does this snapshot hold segment `msn` complete
  // (no part asked) or part `part` of it, or anything later?
  bool satisfies(uint64_t msn, const uint64_t* part) const;
  // Init segment for the segment `msn` (fMP4).
  BufferRef initFor(uint64_t msn) const;
};
using SnapshotPtr = std::shared_ptr<const Snapshot>;

// Renders the media playlist of a snapshot (RFC 8216 4.3.1-4.3.3): EXT-X-VERSION,
// TARGETDURATION, MEDIA-SEQUENCE, DISCONTINUITY-SEQUENCE, then per segment
// EXT-X-DISCONTINUITY, EXT-X-PROGRAM-DATE-TIME and EXTINF. With parts, also SERVER-CONTROL,
// PART-INF, EXT-X-PART for the last segments and the open one, and EXT-X-PRELOAD-HINT.
// `skip`: the delta form, with the segments older than the skip boundary replaced by
// EXT-X-SKIP. Segment URIs are relative: "seg{msn}.{ext}", parts "seg{msn}.{i}.{ext}".
RenderedPlaylist renderPlaylist(const Snapshot& s, bool skip = false);

// Segments with a listed part; older ones lose their EXT-X-PART lines (rfc8216bis 6.2.2 asks
// to drop parts more than three target durations from the live edge).
inline constexpr size_t kSegmentsWithParts = 2;

// "2024-05-01T12:00:00.000Z" (RFC 3339 as RFC 8216 4.3.2.6 asks).
std::string formatProgramDate(int64_t unixMs);

}  // namespace xl::hls
