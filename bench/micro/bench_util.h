// Frames shaped like a camera's: H.264 access units as one length-prefixed NAL, raw AAC frames.
#pragma once

#include <memory>
#include <string>

#include "xueliang/frame.h"
#include "xueliang/track.h"

namespace xl::bench {

inline Frame videoFrame(int64_t dts, bool key, size_t size) {
  std::string nal(size, '\x5a');
  uint32_t n = static_cast<uint32_t>(size - 4);
  nal[0] = static_cast<char>(n >> 24);
  nal[1] = static_cast<char>(n >> 16);
  nal[2] = static_cast<char>(n >> 8);
  nal[3] = static_cast<char>(n);
  nal[4] = key ? 0x65 : 0x41;  // IDR slice / non-IDR slice
  Frame f;
  f.kind = MediaKind::kVideo;
  f.codec = Codec::kH264;
  f.dts = f.pts = dts;
  f.flags.key = key;
  f.data = BufferRef::copyOf(nal);
  return f;
}

inline Frame audioFrame(int64_t dts, size_t size) {
  Frame f;
  f.kind = MediaKind::kAudio;
  f.codec = Codec::kAAC;
  f.dts = f.pts = dts;
  f.data = BufferRef::copyOf(std::string(size, '\x21'));
  return f;
}

inline MediaInfoPtr mediaInfo() {
  auto m = std::make_shared<MediaInfo>();
  m->video = VideoTrack{};
  m->video->codec = Codec::kH264;
  m->video->width = 1920;
  m->video->height = 1080;
  m->audio = AudioTrack{};
  m->audio->codec = Codec::kAAC;
  m->audio->sampleRate = 44100;
  m->audio->channels = 2;
  const uint8_t asc[] = {0x12, 0x10};
  m->audio->config = BufferRef::copyOf(asc, sizeof(asc));
  return m;
}

}  // namespace xl::bench
