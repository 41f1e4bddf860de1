// An HLS playlist as the load generator's players read it (RFC 8216 §4.3; LL-HLS tags from
// draft-pantos-hls-rfc8216bis §4.4.4.9, §4.4.5.2-3): the first variant of a master playlist, or a
// media playlist's segments and partial segments with their media sequence numbers, part
// indexes, durations and wall-clock starts (EXT-X-PROGRAM-DATE-TIME), and the server controls.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace xlload {

struct HlsSegment {
  long long msn = 0;
  std::string uri;
  double durationS = 0;
  double pdtMs = 0;  // Unix ms of the segment's first sample; 0 without PROGRAM-DATE-TIME
};

struct HlsPart {
  long long msn = 0;  // the parent segment
  int index = 0;      // position in the parent segment
  std::string uri;
  double durationS = 0;
  bool independent = false;
  double endPdtMs = 0;  // Unix ms of the part's last sample; 0 without PROGRAM-DATE-TIME
};

struct HlsPlaylist {
  std::string variantUri;  // non-empty: a master playlist
  bool canBlockReload = false;
  double targetMs = 2000;
  double partTargetMs = 0;  // 0: no LL-HLS parts
  long long mediaSequence = 0;
  std::vector<HlsSegment> segments;
  std::vector<HlsPart> parts;
  // The part a blocking reload waits for next (after the last part listed).
  long long nextMsn = 0;
  int nextPart = 0;
};

// Returns "" or why the text is not a usable playlist. Bounded: at most 100,000 lines.
std::string parseHlsPlaylist(std::string_view text, HlsPlaylist& out);

// "2026-11-30T07:23:48.373Z" (also +hh:mm offsets) as Unix milliseconds; 0 if malformed.
double parseIsoTimeMs(std::string_view s);

}  // namespace xlload
