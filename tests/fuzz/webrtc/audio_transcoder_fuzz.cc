// AAC frames from a publisher reach libavcodec's decoder through AudioTranscoder (AAC to Opus
// for WHEP viewers). Input: frames as [16-bit big-endian length][bytes]..., pushed into one
// long-lived transcoder (AAC-LC 44.1 kHz stereo), as a stream would: nothing may crash, leak or
// stop later good frames from working. Seed: tests/data/webrtc/aac_frames_44100_stereo.bin.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "webrtc/audio_transcoder.h"

using xl::webrtc::AudioTranscoder;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<AudioTranscoder> t = [] {
    xl::webrtc::AudioTranscoderConfig c;
    c.decoder = "aac";
    c.decoderConfig = {0x12, 0x10};  // AudioSpecificConfig: AAC-LC, 44.1 kHz, 2 channels
    c.encoder = "libopus";
    auto r = AudioTranscoder::create(c);
    return r ? std::move(*r) : nullptr;
  }();
  static int64_t ms = 0;
  if (!t) return 0;
  size_t at = 0;
  // At most 64 frames per input keeps the replay over every seed of tests/data quick.
  for (int frames = 0; frames < 64 && at + 2 <= size; ++frames) {
    size_t len = size_t(data[at]) << 8 | data[at + 1];
    at += 2;
    if (len > size - at) len = size - at;
    (void)t->push({data + at, len}, ms, [](const xl::webrtc::TranscodedPacket& p) {
      if (p.data.empty()) __builtin_trap();
    });
    ms += 23;
    at += len;
  }
  return 0;
}
