// Media playlist rendering, RFC 8216 section 4.3 (tags) and 6.2.1 (server rules); LL-HLS tags
// from draft-pantos-hls-rfc8216bis (4.4.3.7 PART-INF, 4.4.3.8 SERVER-CONTROL, 4.4.4.9 PART,
// 4.4.5.2 SKIP, 4.4.5.3 PRELOAD-HINT).
#include "hls/playlist.h"

#include <algorithm>
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

PartPtr Snapshot::findPart(uint64_t msn, uint32_t index) const {
  if (msn == nextMsn()) return index < openParts.size() ? openParts[index] : nullptr;
  SegmentPtr s = find(msn);
  if (!s || index >= s->parts.size()) return nullptr;
  return s->parts[index];
}

bool Snapshot::satisfies(uint64_t msn, const uint64_t* part) const {
  uint64_t next = nextMsn();
  if (msn < next) {
    // Segment complete. With a part index past its last part, the next part counts as
    // "later" (rfc8216bis 6.2.5.2).
    if (!part || msn + 1 < next) return true;
    SegmentPtr s = find(msn);
    if (!s || *part < s->parts.size() || s->parts.empty()) return true;
    return !openParts.empty();
  }
  return msn == next && part && *part < openParts.size();
}

BufferRef Snapshot::initFor(uint64_t msn) const {
  if (msn == nextMsn()) return openInit;
  SegmentPtr s = find(msn);
  return s ? s->init : BufferRef();
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

std::string RenderedPlaylist::withQuery(std::string_view query) const {
  std::string_view t(reinterpret_cast<const char*>(text.data()), text.size());
  std::string out;
  out.reserve(t.size() + uriEnds.size() * (query.size() + 1));
  size_t pos = 0;
  for (uint32_t end : uriEnds) {
    std::string_view uri = t.substr(pos, end - pos);
    out += uri;
    // URIs here never carry a query of their own, but stay correct if one ever does.
    size_t line = out.rfind('\n');
    std::string_view last = std::string_view(out).substr(line == std::string::npos ? 0 : line);
    out += last.find('?') == std::string_view::npos ? '?' : '&';
    out += query;
    pos = end;
  }
  out += t.substr(pos);
  return out;
}

namespace {

class Writer {
 public:
  explicit Writer(size_t reserve) { out_.reserve(reserve); }
  void line(std::string_view s) {
    out_ += s;
    out_ += '\n';
  }
  // Marks the end of a URI just written (for the per-viewer query).
  void uri(std::string_view u) {
    out_ += u;
    ends_.push_back(static_cast<uint32_t>(out_.size()));
  }
  std::string& raw() { return out_; }
  RenderedPlaylist done() {
    RenderedPlaylist r;
    r.text = BufferRef::copyOf(out_);
    r.uriEnds = std::move(ends_);
    return r;
  }

 private:
  std::string out_;
  std::vector<uint32_t> ends_;
};

std::string seconds(int64_t ms) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", ms / 1000.0);
  return b;
}

std::string partName(uint64_t msn, uint32_t i, const char* ext) {
  return "seg" + std::to_string(msn) + "." + std::to_string(i) + "." + ext;
}

void writeParts(Writer& w, const std::vector<PartPtr>& parts, const char* ext) {
  for (const PartPtr& p : parts) {
    w.raw() += "#EXT-X-PART:DURATION=" + seconds(p->durationMs) + ",URI=\"";
    w.uri(partName(p->msn, p->index, ext));
    w.raw() += p->independent ? "\",INDEPENDENT=YES\n" : "\"\n";
  }
}

}  // namespace

RenderedPlaylist renderPlaylist(const Snapshot& s, bool skip) {
  size_t listed = s.segments.size() - std::min(s.windowStart, s.segments.size());
  Writer w(256 + 96 * listed + 80 * (s.openParts.size() + kSegmentsWithParts * 8));
  bool ll = s.partTargetMs > 0;
  int64_t skipUntilMs = 6 * 1000 * static_cast<int64_t>(s.targetDurationS);  // 6.2.5.1 minimum
  w.line("#EXTM3U");
  // Version 3 covers decimal EXTINF (RFC 8216 7); EXT-X-MAP in a media playlist without
  // EXT-X-I-FRAMES-ONLY needs 6; EXT-X-SKIP needs 9 (rfc8216bis 7). The LL-HLS tags need no
  // higher version, so classic players read the full playlist as before.
  int version = skip ? 9 : s.container == Container::kFmp4 ? 6 : 3;
  w.line("#EXT-X-VERSION:" + std::to_string(version));
  w.line("#EXT-X-TARGETDURATION:" + std::to_string(s.targetDurationS));
  if (ll) {
    // PART-HOLD-BACK at least twice the part target; three is what Apple recommends.
    w.line("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=" + seconds(skipUntilMs) +
           ",PART-HOLD-BACK=" + seconds(3 * s.partTargetMs));
    w.line("#EXT-X-PART-INF:PART-TARGET=" + seconds(s.partTargetMs));
  }
  uint64_t firstMsn =
      s.windowStart < s.segments.size() ? s.segments[s.windowStart]->msn : s.nextMsn();
  w.line("#EXT-X-MEDIA-SEQUENCE:" + std::to_string(firstMsn));
  w.line("#EXT-X-DISCONTINUITY-SEQUENCE:" + std::to_string(s.discontinuitySequence));
  const char* ext = segmentExtension(s.container);
  bool fmp4 = s.container == Container::kFmp4;

  size_t first = std::min(s.windowStart, s.segments.size());
  if (skip && ll) {
    // Skip the oldest segments that lie entirely beyond the skip boundary from the live edge.
    int64_t fromEnd = 0;
    for (const PartPtr& p : s.openParts) fromEnd += p->durationMs;
    std::vector<int64_t> startFromEnd(s.segments.size(), 0);
    for (size_t i = s.segments.size(); i-- > first;) {
      fromEnd += s.segments[i]->durationMs;
      startFromEnd[i] = fromEnd;
    }
    size_t skipped = 0;
    while (first + skipped < s.segments.size() &&
           startFromEnd[first + skipped] - s.segments[first + skipped]->durationMs >= skipUntilMs)
      ++skipped;
    w.line("#EXT-X-SKIP:SKIPPED-SEGMENTS=" + std::to_string(skipped));
    first += skipped;
  }

  BufferRef currentInit;
  auto mapFor = [&](const BufferRef& init) {
    // EXT-X-MAP applies to the segments after it; a new init (new codec parameters) gets its
    // own tag after the discontinuity. Each init is served under its own name.
    if (!fmp4 || !init || init.data() == currentInit.data()) return;
    currentInit = init;
    w.raw() += "#EXT-X-MAP:URI=\"";
    w.uri("init.mp4");
    w.raw() += "\"\n";
  };
  size_t partsFrom =
      s.segments.size() > kSegmentsWithParts ? s.segments.size() - kSegmentsWithParts : 0;
  char line[64];
  for (size_t i = first; i < s.segments.size(); ++i) {
    const Segment& seg = *s.segments[i];
    // A tag stays with its segment while listed; the sequence number counts only the tagged
    // segments that left the window (4.3.3.3), so each segment keeps its discontinuity number.
    if (seg.discontinuity) w.line("#EXT-X-DISCONTINUITY");
    mapFor(seg.init);
    w.line("#EXT-X-PROGRAM-DATE-TIME:" + formatProgramDate(seg.programDateMs));
    if (ll && i >= partsFrom) writeParts(w, seg.parts, ext);
    std::snprintf(line, sizeof line, "#EXTINF:%.3f,\n", seg.durationMs / 1000.0);
    w.raw() += line;
    w.uri("seg" + std::to_string(seg.msn) + "." + ext);
    w.raw() += '\n';
  }
  if (ll && !s.ended) {
    if (!s.openParts.empty()) {
      if (s.openDiscontinuity) w.line("#EXT-X-DISCONTINUITY");
      mapFor(s.openInit);
      writeParts(w, s.openParts, ext);
    }
    // The part being produced: a client may ask for it now and the server holds the request.
    w.raw() += "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"";
    w.uri(partName(s.hintMsn(), s.hintIndex(), ext));
    w.raw() += "\"\n";
  }
  if (s.ended) w.line("#EXT-X-ENDLIST");
  return w.done();
}

}  // namespace xl::hls
