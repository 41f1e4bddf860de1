// The recorder's MP4 box scan for HLS playback (a recorded file may be truncated or damaged) and
// the Range header of playback requests. Invariants: indexed fragments lie inside the file, in
// order, after the init part; a parsed range lies inside the body.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mp4_index.h"
#include "playback_playlist.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (auto idx = xl::recorder::indexMp4(data, size)) {
    uint64_t end = idx->initSize;
    for (const auto& f : idx->fragments) {
      if (f.offset < end || f.size == 0 || f.size > size || f.offset > size - f.size) std::abort();
      if (f.durationMs < 0 || f.startMs < 0) std::abort();
      end = f.offset + f.size;
    }
    xl::recorder::PlaybackFile pf{"20261130-040506", 0,
                                  std::make_shared<const xl::recorder::Mp4Index>(*idx)};
    (void)xl::recorder::buildPlaylist({pf}, 0, INT64_MAX / 2);
  }
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto r = xl::recorder::parseByteRange(s, 1000);
  if (r.kind == xl::recorder::ByteRange::kRange &&
      (r.length == 0 || r.offset >= 1000 || r.length > 1000 - r.offset))
    std::abort();
  return 0;
}
