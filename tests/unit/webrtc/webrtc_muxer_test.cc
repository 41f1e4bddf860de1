// WebrtcMuxer: the demo clip (H.264 + AAC) becomes RTSP-interleaved RTP in which the audio is
// Opus (payload type, 960-tick timestamps), and the sender reports of both tracks put audio and
// video on one clock, so a browser lip-syncs. Opus and G.711 pass through unchanged; one
// transcoder per muxer, counted while it lives.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>

#include "audio_test_clip.h"
#include "interleaved.h"
#include "rtp/rtcp.h"
#include "rtp/rtp_packet.h"
#include "rtp/sdp_media.h"
#include "webrtc/webrtc_muxer.h"

namespace xl::webrtc {
namespace {

struct Parsed {
  struct Pkt {
    uint8_t channel;
    uint8_t pt;
    uint32_t ts;
  };
  std::vector<Pkt> rtp;
  std::vector<std::pair<uint8_t, rtp::SenderReport>> reports;  // channel, report
};

void parse(const BufferRef& b, Parsed& out) {
  test::forEachInterleaved(b, [&](uint8_t channel, rtp::ByteSpan pkt) {
    if (channel & 1) {
      auto sr = rtp::parseSenderReport(pkt);
      ASSERT_TRUE(sr) << sr.message();
      out.reports.emplace_back(channel, *sr);
    } else {
      auto r = rtp::parseRtp(pkt);
      ASSERT_TRUE(r) << r.message();
      out.rtp.push_back({channel, r->payloadType, r->timestamp});
    }
  });
}

double ntpSeconds(uint64_t ntp) {
  return double(ntp >> 32) + double(ntp & 0xffffffff) / 4294967296.0;
}

MediaInfo infoOf(const test::Clip& c, Codec audio) {
  MediaInfo m;
  VideoTrack v;
  v.codec = Codec::kH264;
  v.config = BufferRef::copyOf(c.avcC.data(), c.avcC.size());
  m.video = v;
  AudioTrack a;
  a.codec = audio;
  if (audio == Codec::kAAC) a.config = BufferRef::copyOf(c.asc.data(), c.asc.size());
  a.sampleRate = audio == Codec::kAAC ? c.sampleRate : audio == Codec::kOpus ? 48000 : 8000;
  a.channels = audio == Codec::kAAC ? c.channels : audio == Codec::kOpus ? 2 : 1;
  m.audio = a;
  return m;
}

Frame frameOf(const test::ClipPacket& p, Codec audio) {
  Frame f;
  f.kind = p.video ? MediaKind::kVideo : MediaKind::kAudio;
  f.codec = p.video ? Codec::kH264 : audio;
  f.dts = p.dtsMs;
  f.pts = p.ptsMs;
  f.flags.key = p.key && p.video;
  f.data = BufferRef::copyOf(p.data.data(), p.data.size());
  return f;
}

TEST(WebrtcMuxer, AacBecomesOpusOnTheVideosClock) {
  test::Clip clip = test::readClip(XL_DEMO_CLIP, 3.0);
  ASSERT_FALSE(clip.packets.empty()) << XL_DEMO_CLIP;
  const MediaInfo info = infoOf(clip, Codec::kAAC);
  auto counters = std::make_shared<TranscoderCounters>();
  Parsed out;
  std::optional<int64_t> firstAudioMs, firstVideoPtsMs;  // AAC priming starts before 0
  {
    WebrtcMuxer mux(counters);
    EXPECT_FALSE(mux.transcoding());
    for (const auto& p : clip.packets) {
      if (!p.video && !firstAudioMs) firstAudioMs = p.dtsMs;
      if (p.video && !firstVideoPtsMs) firstVideoPtsMs = p.ptsMs;
      BufferRef b = mux.mux(frameOf(p, Codec::kAAC), info);
      if (b) parse(b, out);
      if (::testing::Test::HasFatalFailure()) return;
    }
    EXPECT_TRUE(mux.transcoding());
    EXPECT_EQ(counters->live.load(), 1);
    EXPECT_EQ(counters->created.load(), 1u);
  }
  EXPECT_EQ(counters->live.load(), 0) << "the transcoder ends with its muxer";

  const uint8_t opusPt = rtp::payloadTypeFor(Codec::kOpus, rtp::kAudioPayloadType);
  std::vector<uint32_t> audioTs, videoTs;
  for (auto& r : out.rtp) {
    if (r.channel == 2) {
      EXPECT_EQ(r.pt, opusPt);
      audioTs.push_back(r.ts);
    } else {
      ASSERT_EQ(r.channel, 0);
      videoTs.push_back(r.ts);
    }
  }
  // ~3 s of audio: 50 Opus packets a second, each 960 ticks after the one before.
  EXPECT_NEAR(double(audioTs.size()), 150.0, 6.0);
  for (size_t i = 1; i < audioTs.size(); ++i) EXPECT_EQ(audioTs[i] - audioTs[i - 1], 960u) << i;

  // Lip sync: map the first video and first audio packet to wall-clock time through each track's
  // sender report (RFC 3550 §6.4.1). Their distance must be what it is in the source: the audio
  // starts at firstAudioMs (less the 6.5 ms Opus look-ahead), the video at firstVideoPtsMs.
  const rtp::SenderReport* srV = nullptr;
  const rtp::SenderReport* srA = nullptr;
  for (auto& [ch, sr] : out.reports) {
    if (ch == 1 && !srV) srV = &sr;
    if (ch == 3 && !srA) srA = &sr;
  }
  ASSERT_TRUE(srV && srA) << "sender reports for both tracks";
  ASSERT_FALSE(audioTs.empty());
  ASSERT_FALSE(videoTs.empty());
  auto wall = [](const rtp::SenderReport& sr, uint32_t ts, double rate) {
    return ntpSeconds(sr.ntp) + double(int32_t(ts - sr.rtpTimestamp)) / rate;
  };
  const double videoWall = wall(*srV, videoTs.front(), 90000);
  const double audioWall = wall(*srA, audioTs.front(), 48000);
  ASSERT_TRUE(firstAudioMs && firstVideoPtsMs);
  const double sourceGap = (*firstVideoPtsMs - (*firstAudioMs - 6.5)) / 1000.0;
  EXPECT_NEAR(videoWall - audioWall, sourceGap, 0.002)
      << "video " << videoWall << " audio " << audioWall;
}

TEST(WebrtcMuxer, OpusFrameDurationFollowsTheSetting) {
  test::Clip clip = test::readClip(XL_DEMO_CLIP, 3.0);
  ASSERT_FALSE(clip.packets.empty()) << XL_DEMO_CLIP;
  const MediaInfo info = infoOf(clip, Codec::kAAC);
  for (int ms : {40, 60}) {
    auto settings = std::make_shared<TranscodeSettings>();
    settings->opusFrameMs = ms;
    WebrtcMuxer mux(std::make_shared<TranscoderCounters>(), settings);
    Parsed out;
    for (const auto& p : clip.packets) {
      if (BufferRef b = mux.mux(frameOf(p, Codec::kAAC), info)) parse(b, out);
      if (::testing::Test::HasFatalFailure()) return;
    }
    std::vector<uint32_t> audioTs;
    for (auto& r : out.rtp)
      if (r.channel == 2) audioTs.push_back(r.ts);
    // ~3 s of audio in packets of `ms`, each 48 * ms ticks after the one before.
    EXPECT_NEAR(double(audioTs.size()), 3000.0 / ms, 3.0) << ms;
    for (size_t i = 1; i < audioTs.size(); ++i)
      EXPECT_EQ(audioTs[i] - audioTs[i - 1], 48u * ms) << ms << " ms, packet " << i;
  }
}

TEST(WebrtcMuxer, OpusAndG711PassThroughWithoutATranscoder) {
  test::Clip clip = test::readClip(XL_DEMO_CLIP, 0.5);
  ASSERT_FALSE(clip.packets.empty());
  for (Codec c : {Codec::kOpus, Codec::kG711A, Codec::kG711U}) {
    auto counters = std::make_shared<TranscoderCounters>();
    WebrtcMuxer mux(counters);
    const MediaInfo info = infoOf(clip, c);
    Frame f;
    f.kind = MediaKind::kAudio;
    f.codec = c;
    f.dts = f.pts = 40;
    const std::vector<uint8_t> payload(c == Codec::kOpus ? 120 : 160, 0x55);
    f.data = BufferRef::copyOf(payload.data(), payload.size());
    Parsed out;
    parse(mux.mux(f, info), out);
    ASSERT_EQ(out.rtp.size(), 1u) << codecName(c);
    EXPECT_EQ(out.rtp[0].channel, 2);
    EXPECT_EQ(out.rtp[0].pt, rtp::payloadTypeFor(c, rtp::kAudioPayloadType));
    EXPECT_FALSE(mux.transcoding());
    EXPECT_EQ(counters->created.load(), 0u);
  }
}

TEST(WebrtcMuxer, UndecodableAacIsSkippedAndCounted) {
  test::Clip clip = test::readClip(XL_DEMO_CLIP, 1.0);
  ASSERT_FALSE(clip.packets.empty());
  const MediaInfo info = infoOf(clip, Codec::kAAC);
  auto counters = std::make_shared<TranscoderCounters>();
  WebrtcMuxer mux(counters);
  Frame bad;
  bad.kind = MediaKind::kAudio;
  bad.codec = Codec::kAAC;
  const std::vector<uint8_t> junk(200, 0xff);
  bad.data = BufferRef::copyOf(junk.data(), junk.size());
  EXPECT_FALSE(mux.mux(bad, info));
  EXPECT_GE(counters->errors.load(), 1u);
  size_t audioBytes = 0;
  for (const auto& p : clip.packets) {
    if (p.video) continue;
    if (BufferRef b = mux.mux(frameOf(p, Codec::kAAC), info)) audioBytes += b.size();
  }
  EXPECT_GT(audioBytes, 2000u) << "good frames after a bad one still make Opus";
}

}  // namespace
}  // namespace xl::webrtc
