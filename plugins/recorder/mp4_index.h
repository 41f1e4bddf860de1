// The layout of a recorded fragmented MP4 for HLS playback by byte range: the init part
// (ftyp+moov, the boxes before the first moof) and every complete fragment (moof + its mdat) with
// its start time, duration and whether it starts on a keyframe. Found by one scan of the file's
// top-level boxes, reading only moov and the moofs (never the media). The file is untrusted input
// (it may be truncated by a crash or damaged): anything malformed is an error, never a crash, and a
// fragment cut short at the end of the file is left out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "xueliang/status.h"

namespace xl::recorder {

struct Mp4Fragment {
  uint64_t offset = 0;  // of the moof
  uint64_t size = 0;    // moof through the end of its mdat
  int64_t startMs = 0;  // relative to the file's first fragment
  int64_t durationMs = 0;
  bool keyframe = false;  // the timing track's first sample is a sync sample
};

struct Mp4Index {
  uint64_t initSize = 0;  // bytes [0, initSize): ftyp, moov (and anything before the first moof)
  uint64_t fileSize = 0;
  bool hasVideo = false;  // the timing track is video (else the first track)
  std::vector<Mp4Fragment> fragments;
};

// Reads `len` bytes at `offset` into `out`; false when they cannot all be read.
using ReadAt = std::function<bool(uint64_t offset, size_t len, uint8_t* out)>;

Result<Mp4Index> indexMp4(uint64_t fileSize, const ReadAt& read);
Result<Mp4Index> indexMp4(const uint8_t* data, size_t size);
Result<Mp4Index> indexMp4File(const std::string& path);

}  // namespace xl::recorder
