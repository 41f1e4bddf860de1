// WebrtcMuxer on a WHIP stream: AAC (transcoded at ingest, for RTMP/HLS) as the main audio and
// the browser's Opus as alternate audio (MediaInfo::alternateAudio). The Opus goes out as it
// came, the AAC is not transcoded back, and no transcoder is ever made.
#include <gtest/gtest.h>

#include <vector>

#include "audio_test_clip.h"
#include "interleaved.h"
#include "rtp/rtp_packet.h"
#include "rtp/sdp_media.h"
#include "webrtc/webrtc_muxer.h"

namespace xl::webrtc {
namespace {

struct Packet {
  uint8_t channel;
  uint8_t pt;
  uint32_t ts;
};

// The RTP packets (not RTCP: odd channels) of RTSP-interleaved bytes.
std::vector<Packet> rtpPackets(const BufferRef& b) {
  std::vector<Packet> out;
  test::forEachInterleaved(b, [&](uint8_t channel, ByteSpan pkt) {
    auto r = rtp::parseRtp(pkt);
    if (!(channel & 1) && r) out.push_back({channel, r->payloadType, r->timestamp});
  });
  return out;
}

TEST(WebrtcMuxerAlternate, SendsThePublishersOpusAndTranscodesNothing) {
  test::Clip clip = test::readClip(XL_DEMO_CLIP, 1.0);
  ASSERT_FALSE(clip.packets.empty()) << XL_DEMO_CLIP;
  MediaInfo info;
  info.video.emplace().codec = Codec::kH264;
  info.video->config = BufferRef::copyOf(clip.avcC.data(), clip.avcC.size());
  info.audio = AudioTrack{Codec::kAAC, BufferRef::copyOf(clip.asc.data(), clip.asc.size()),
                          clip.sampleRate, clip.channels};
  info.alternateAudio = AudioTrack{Codec::kOpus, {}, 48000, 2};
  auto counters = std::make_shared<TranscoderCounters>();
  WebrtcMuxer mux(counters);
  std::vector<Packet> out;
  int aacFrames = 0, videoFrames = 0;
  for (const auto& p : clip.packets) {
    Frame f;
    f.kind = p.video ? MediaKind::kVideo : MediaKind::kAudio;
    f.codec = p.video ? Codec::kH264 : Codec::kAAC;
    f.dts = p.dtsMs;
    f.pts = p.ptsMs;
    f.flags.key = p.key && p.video;
    f.data = BufferRef::copyOf(p.data.data(), p.data.size());
    (p.video ? videoFrames : aacFrames) += 1;
    for (const Packet& k : rtpPackets(mux.mux(f, info))) out.push_back(k);
  }
  // The browser's Opus: 20 ms frames on the same clock.
  const std::vector<uint8_t> opus(80, 0x5a);
  constexpr int kOpusFrames = 50;
  for (int i = 0; i < kOpusFrames; ++i) {
    Frame f;
    f.kind = MediaKind::kAudio;
    f.codec = Codec::kOpus;
    f.dts = f.pts = i * 20;
    f.flags.alternate = true;
    f.data = BufferRef::copyOf(opus.data(), opus.size());
    for (const Packet& k : rtpPackets(mux.mux(f, info))) out.push_back(k);
  }
  ASSERT_GT(aacFrames, 20);
  ASSERT_GT(videoFrames, 10);
  std::vector<uint32_t> audioTs;
  size_t video = 0;
  for (const Packet& k : out) {
    if (k.channel == 2) {
      EXPECT_EQ(k.pt, rtp::payloadTypeFor(Codec::kOpus, rtp::kAudioPayloadType));
      audioTs.push_back(k.ts);
    } else {
      ++video;
    }
  }
  EXPECT_GE(video, size_t(videoFrames)) << "video goes out as before";
  ASSERT_EQ(audioTs.size(), size_t(kOpusFrames)) << "one packet per Opus frame, none from the AAC";
  for (size_t i = 1; i < audioTs.size(); ++i) EXPECT_EQ(audioTs[i] - audioTs[i - 1], 960u) << i;
  EXPECT_FALSE(mux.transcoding());
  EXPECT_EQ(counters->created.load(), 0u);
}

TEST(WebrtcMuxerAlternate, WithoutAlternateAudioItsFramesAreNotSent) {
  MediaInfo info;
  info.audio = AudioTrack{Codec::kOpus, {}, 48000, 2};
  WebrtcMuxer mux(std::make_shared<TranscoderCounters>());
  Frame f;
  f.kind = MediaKind::kAudio;
  f.codec = Codec::kOpus;
  f.data = BufferRef::copyOf("opus");
  EXPECT_EQ(rtpPackets(mux.mux(f, info)).size(), 1u);
  f.flags.alternate = true;  // alternate audio the stream does not declare
  EXPECT_FALSE(mux.mux(f, info));
}

}  // namespace
}  // namespace xl::webrtc
