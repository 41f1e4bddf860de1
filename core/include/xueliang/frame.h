// Frame: one protocol-neutral access unit. Video payloads are length-prefixed NAL units (4-byte
// big-endian lengths, as in MP4/FLV); AAC payloads are raw frames without ADTS headers.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "xueliang/buffer.h"

namespace xl {

enum class Codec : uint8_t { kNone, kH264, kH265, kAAC, kOpus, kG711A, kG711U };
enum class MediaKind : uint8_t { kVideo, kAudio };

std::string_view codecName(Codec c);
inline bool isVideo(Codec c) {
  return c == Codec::kH264 || c == Codec::kH265;
}

struct FrameFlags {
  bool key = false;            // video: IDR/IRAP access unit
  bool config = false;         // carries codec configuration only (sequence header)
  bool discontinuity = false;  // timestamps jump; consumers restart timing
  // Audio in MediaInfo::alternateAudio's codec, next to the stream's main audio: only output
  // formats that ask for it (OutputFormat::alternateAudio) see it; frame sinks never do.
  bool alternate = false;
};

struct Frame {
  MediaKind kind = MediaKind::kVideo;
  Codec codec = Codec::kNone;
  int64_t dts = 0;  // milliseconds
  int64_t pts = 0;  // milliseconds
  FrameFlags flags;
  BufferRef data;
};

using FramePtr = std::shared_ptr<const Frame>;

}  // namespace xl
