// Media playlist rendering, RFC 8216 section 4.3 (tags) and 6.2.1 (server rules).
#include "hls/playlist.h"

#include <cstdio>
#include <ctime>

namespace xl::hls {

const char* containerName(Container c) {
  return c == Container::kFmp4 ? "fmp4" : "ts";
}
const char* segmentExtension(Container c) {
  return c == Container::kFmp4 ? "m4s" : "ts";
}
const char* segmentMimeType(Container c) {
  return c == Container::kFmp4 ? "video/mp4" : "video/mp2t";
}

SegmentPtr Snapshot::find(uint64_t msn) const {
  if (segments.empty()) return nullptr;
  uint64_t first = segments.front()->msn;
  if (msn < first || msn > segments.back()->msn) return nullptr;
  const SegmentPtr& s = segments[msn - first];  // numbers are consecutive
  return s->msn == msn ? s : nullptr;
}

std::string formatProgramDate(int64_t unixMs) {
  std::time_t secs = static_cast<std::time_t>(unixMs / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unixMs % 1000));
  return buf;
}

std::string renderPlaylist(const Snapshot& s) {
  std::string out;
  out.reserve(128 + 96 * (s.segments.size() - std::min(s.windowStart, s.segments.size())));
  out += "#EXTM3U\n";
  // Version 3 covers decimal EXTINF (RFC 8216 7); EXT-X-MAP in a media playlist without
  // EXT-X-I-FRAMES-ONLY needs 6.
  out += s.container == Container::kFmp4 ? "#EXT-X-VERSION:6\n" : "#EXT-X-VERSION:3\n";
  out += "#EXT-X-TARGETDURATION:" + std::to_string(s.targetDurationS) + "\n";
  uint64_t firstMsn =
      s.windowStart < s.segments.size() ? s.segments[s.windowStart]->msn : s.nextMsn();
  out += "#EXT-X-MEDIA-SEQUENCE:" + std::to_string(firstMsn) + "\n";
  out += "#EXT-X-DISCONTINUITY-SEQUENCE:" + std::to_string(s.discontinuitySequence) + "\n";
  if (s.container == Container::kFmp4 && s.initSegment) out += "#EXT-X-MAP:URI=\"init.mp4\"\n";
  const char* ext = segmentExtension(s.container);
  char line[64];
  for (size_t i = s.windowStart; i < s.segments.size(); ++i) {
    const Segment& seg = *s.segments[i];
    // A tag stays with its segment while listed; the sequence number counts only the tagged
    // segments that left the window (4.3.3.3), so each segment keeps its discontinuity number.
    if (seg.discontinuity) out += "#EXT-X-DISCONTINUITY\n";
    out += "#EXT-X-PROGRAM-DATE-TIME:" + formatProgramDate(seg.programDateMs) + "\n";
    std::snprintf(line, sizeof line, "#EXTINF:%.3f,\n", seg.durationMs / 1000.0);
    out += line;
    out += "seg" + std::to_string(seg.msn) + "." + ext + "\n";
  }
  if (s.ended) out += "#EXT-X-ENDLIST\n";
  return out;
}

}  // namespace xl::hls
