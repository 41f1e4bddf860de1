// Media fixtures for the HLS tests: an H.264 track from real parameter sets, AAC-LC 44.1 kHz
// stereo, and synthetic length-prefixed access units.
#pragma once

#include "../media/samples.h"
#include "xueliang/codec.h"
#include "xueliang/frame.h"
#include "xueliang/track.h"

namespace xl::test {

inline MediaInfoPtr h264AacInfo() {
  ParameterSets ps;
  ps.sps.push_back(kH264HighSps);
  ps.pps.push_back(kH264HighPps);
  auto info = std::make_shared<MediaInfo>();
  VideoTrack v;
  v.codec = Codec::kH264;
  v.config = *h264::buildAvcC(ps);
  info->video = v;
  AudioTrack a;
  a.codec = Codec::kAAC;
  a.config = *aac::buildAsc(2, 44100, 2);
  a.sampleRate = 44100;
  a.channels = 2;
  info->audio = a;
  return info;
}

// One length-prefixed access unit with a single NAL of `size` bytes (IDR or non-IDR slice).
inline Frame videoFrame(int64_t dts, bool key, size_t size = 1000, int64_t cto = 0) {
  BufferWriter w;
  w.be32(static_cast<uint32_t>(size));
  w.u8(key ? 0x65 : 0x41);
  for (size_t i = 1; i < size; ++i) w.u8(static_cast<uint8_t>(i * 7));
  Frame f;
  f.kind = MediaKind::kVideo;
  f.codec = Codec::kH264;
  f.dts = dts;
  f.pts = dts + cto;
  f.flags.key = key;
  f.data = w.freeze();
  return f;
}

inline Frame audioFrame(int64_t dts, size_t size = 300) {
  BufferWriter w;
  for (size_t i = 0; i < size; ++i) w.u8(static_cast<uint8_t>(i));
  Frame f;
  f.kind = MediaKind::kAudio;
  f.codec = Codec::kAAC;
  f.dts = f.pts = dts;
  f.data = w.freeze();
  return f;
}

}  // namespace xl::test
