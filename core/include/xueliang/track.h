// Track descriptions: codec parameters parsed once at publish, shared read-only by muxers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "xueliang/buffer.h"
#include "xueliang/frame.h"

namespace xl {

struct VideoTrack {
  Codec codec = Codec::kNone;
  // Decoder configuration in its MP4/FLV form: AVCDecoderConfigurationRecord (avcC) for H.264,
  // HEVCDecoderConfigurationRecord (hvcC) for H.265.
  BufferRef config;
  int width = 0;
  int height = 0;
  std::string profile;  // e.g. "High", "Main"
  int level = 0;        // e.g. 31 for 3.1
  double fps = 0;       // nominal frame rate when the source declares one; 0 if unknown
};

struct AudioTrack {
  Codec codec = Codec::kNone;
  BufferRef config;  // AudioSpecificConfig for AAC; empty otherwise
  int sampleRate = 0;
  int channels = 0;
};

// What a stream carries. Replaced as a whole (never mutated) when a publisher changes codec
// parameters mid-stream.
struct MediaInfo {
  std::optional<VideoTrack> video;
  std::optional<AudioTrack> audio;
  // The publisher's own audio when `audio` was transcoded from it (a WebRTC publisher's Opus
  // next to its AAC): its frames are flagged `alternate`, for the formats that prefer it.
  std::optional<AudioTrack> alternateAudio;
};
using MediaInfoPtr = std::shared_ptr<const MediaInfo>;

}  // namespace xl
