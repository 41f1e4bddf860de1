// Arbitrary text as an HLS playlist: a playlist that parses has parts and segments in media
// sequence order with sane durations, and the next part a blocking reload asks for is after them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hls_playlist.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xlload;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)parseIsoTimeMs(text);
  HlsPlaylist pl;
  if (!parseHlsPlaylist(text, pl).empty() || !pl.variantUri.empty()) return 0;
  if (!(pl.targetMs > 0)) abort();
  for (size_t i = 1; i < pl.segments.size(); ++i)
    if (pl.segments[i].msn != pl.segments[i - 1].msn + 1) abort();
  for (const HlsPart& p : pl.parts) {
    if (p.uri.empty() || p.durationS < 0 || p.index < 0) abort();
    if (p.msn > pl.nextMsn || (p.msn == pl.nextMsn && p.index >= pl.nextPart)) abort();
  }
  return 0;
}
