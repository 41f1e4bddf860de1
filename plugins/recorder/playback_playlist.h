// HLS VOD of recorded files: the playlist of a time range (per file an EXT-X-MAP of its init part
// and one segment per group of fragments from a keyframe, as byte ranges of the file, with
// EXT-X-DISCONTINUITY between files), the file ids in media URLs, and the Range header.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mp4_index.h"

namespace xl::recorder {

struct PlaybackFile {
  std::string id;  // fileId() of its path
  int64_t startEpochMs = 0;
  std::shared_ptr<const Mp4Index> index;
};

// The playlist of the segments overlapping [fromMs, toMs) (files oldest first); nullopt when
// none does. Media URLs are relative: "playback/{id}.mp4".
std::optional<std::string> buildPlaylist(const std::vector<PlaybackFile>& files, int64_t fromMs,
                                         int64_t toMs);

// "YYYYMMDD-HHMMSS[-N]" for ".../YYYY/MM/DD/HHMMSS[-N].mp4"; empty for any other path.
std::string fileId(std::string_view path);
// The inverse under root/{stream}; nullopt unless `id` has exactly that form.
std::optional<std::string> pathForId(const std::string& root, const std::string& stream,
                                     std::string_view id);

// A Range header against a body of `size` bytes: one "bytes=a-b", "bytes=a-" or "bytes=-n".
struct ByteRange {
  enum Kind { kNone, kRange, kUnsatisfiable } kind = kNone;  // kNone: absent or not understood
  uint64_t offset = 0;
  uint64_t length = 0;
};
ByteRange parseByteRange(std::string_view header, uint64_t size);

}  // namespace xl::recorder
