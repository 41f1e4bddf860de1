#include "playback_playlist.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "time_range.h"

namespace xl::recorder {
namespace {

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<uint64_t> number(std::string_view s) {
  uint64_t v = 0;
  if (!allDigits(s) || s.size() > 18) return std::nullopt;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

struct Segment {
  uint64_t offset = 0, size = 0;
  int64_t startMs = 0, durationMs = 0;
};

// Fragments grouped from keyframe to keyframe, so every segment decodes on its own. Fragments
// before the first keyframe cannot be decoded and are left out; a file where no fragment is
// marked as one (unexpected flags) gets one segment per fragment.
std::vector<Segment> segmentsOf(const Mp4Index& idx) {
  bool anyKey = std::any_of(idx.fragments.begin(), idx.fragments.end(),
                            [](const Mp4Fragment& f) { return f.keyframe; });
  std::vector<Segment> out;
  for (const Mp4Fragment& f : idx.fragments) {
    if (f.keyframe || !anyKey) {
      out.push_back({f.offset, f.size, f.startMs, f.durationMs});
    } else if (!out.empty()) {
      Segment& s = out.back();
      s.size = f.offset + f.size - s.offset;
      s.durationMs = f.startMs + f.durationMs - s.startMs;
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> buildPlaylist(const std::vector<PlaybackFile>& files, int64_t fromMs,
                                         int64_t toMs) {
  std::string body;
  int64_t maxMs = 0;
  bool first = true;
  char line[160];
  for (const PlaybackFile& file : files) {
    if (!file.index || file.id.empty()) continue;
    bool mapped = false;
    for (const Segment& s : segmentsOf(*file.index)) {
      int64_t start = file.startEpochMs + s.startMs;
      if (start + s.durationMs <= fromMs || start >= toMs || s.durationMs <= 0) continue;
      if (!mapped) {
        // A new file: new init part, timestamps restart (the discontinuity tells the player).
        if (!first) body += "#EXT-X-DISCONTINUITY\n";
        body += "#EXT-X-PROGRAM-DATE-TIME:" + formatTime(start) + "\n";
        std::snprintf(line, sizeof line,
                      "#EXT-X-MAP:URI=\"playback/%s.mp4\",BYTERANGE=\"%llu@0\"\n", file.id.c_str(),
                      static_cast<unsigned long long>(file.index->initSize));
        body += line;
        mapped = true;
        first = false;
      }
      maxMs = std::max(maxMs, s.durationMs);
      std::snprintf(line, sizeof line, "#EXTINF:%.3f,\n#EXT-X-BYTERANGE:%llu@%llu\n",
                    double(s.durationMs) / 1000.0, static_cast<unsigned long long>(s.size),
                    static_cast<unsigned long long>(s.offset));
      body += line;
      body += "playback/" + file.id + ".mp4\n";
    }
  }
  if (first) return std::nullopt;
  std::string head = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-PLAYLIST-TYPE:VOD\n";
  head += "#EXT-X-TARGETDURATION:" + std::to_string(std::max<int64_t>(1, (maxMs + 999) / 1000)) +
          "\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  return head + body + "#EXT-X-ENDLIST\n";
}

std::string fileId(std::string_view path) {
  // Last four components: YYYY / MM / DD / HHMMSS[-N].mp4
  std::string_view parts[4];
  for (int i = 3; i >= 0; --i) {
    size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return {};
    parts[i] = path.substr(slash + 1);
    path = path.substr(0, slash);
  }
  std::string_view name = parts[3];
  if (!name.ends_with(".mp4")) return {};
  name.remove_suffix(4);
  std::string id = std::string(parts[0]) + std::string(parts[1]) + std::string(parts[2]) + "-" +
                   std::string(name);
  return pathForId("", "", id) ? id : std::string();
}

std::optional<std::string> pathForId(const std::string& root, const std::string& stream,
                                     std::string_view id) {
  // YYYYMMDD-HHMMSS or YYYYMMDD-HHMMSS-N (N: 1 to 4 digits)
  if (id.size() < 15 || id[8] != '-' || !allDigits(id.substr(0, 8)) || !allDigits(id.substr(9, 6)))
    return std::nullopt;
  std::string_view suffix = id.substr(15);
  if (!suffix.empty() && (suffix[0] != '-' || suffix.size() > 5 || !allDigits(suffix.substr(1))))
    return std::nullopt;
  return root + "/" + stream + "/" + std::string(id.substr(0, 4)) + "/" +
         std::string(id.substr(4, 2)) + "/" + std::string(id.substr(6, 2)) + "/" +
         std::string(id.substr(9)) + ".mp4";
}

ByteRange parseByteRange(std::string_view h, uint64_t size) {
  ByteRange r;
  if (!h.starts_with("bytes=")) return r;
  h.remove_prefix(6);
  size_t dash = h.find('-');
  if (dash == std::string_view::npos || h.find(',') != std::string_view::npos) return r;
  std::string_view a = h.substr(0, dash), b = h.substr(dash + 1);
  if (a.empty()) {  // suffix: the last n bytes
    auto n = number(b);
    if (!n) return r;
    if (*n == 0 || size == 0) return {ByteRange::kUnsatisfiable};
    uint64_t len = std::min(*n, size);
    return {ByteRange::kRange, size - len, len};
  }
  auto first = number(a);
  std::optional<uint64_t> last = b.empty() ? std::optional<uint64_t>(UINT64_MAX) : number(b);
  if (!first || !last || *last < *first) return r;
  if (*first >= size) return {ByteRange::kUnsatisfiable};
  uint64_t end = std::min(*last, size - 1);
  return {ByteRange::kRange, *first, end - *first + 1};
}

}  // namespace xl::recorder
