// The "rtsp" output format: ffmpeg's H.264 and AAC captures go in as core frames; the shared
// batches must carry valid interleaved RTP with continuous numbering, exact AAC timestamps and
// sender reports that align the two tracks.
#include "rtsp/rtsp_muxer.h"

#include <gtest/gtest.h>

#include "rtp/rtcp.h"
#include "rtp/sdp.h"
#include "rtp/sdp_media.h"
#include "rtp_samples.h"
#include "xueliang/codec.h"

namespace xl::rtsp {
namespace {

struct Interleaved {
  uint8_t channel;
  std::vector<uint8_t> data;
};

std::vector<Interleaved> split(const BufferRef& b) {
  std::vector<Interleaved> out;
  const uint8_t* p = b.data();
  size_t left = b.size();
  while (left > 0) {
    EXPECT_GE(left, 4u);
    EXPECT_EQ(p[0], '$');
    size_t len = size_t(p[2]) << 8 | p[3];
    EXPECT_LE(4 + len, left);
    if (left < 4 || 4 + len > left) break;
    out.push_back({p[1], std::vector<uint8_t>(p + 4, p + 4 + len)});
    p += 4 + len;
    left -= 4 + len;
  }
  return out;
}

class RtspMuxerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto vd = rtp::makeDepacketizer(Codec::kH264);
    video_ = test::depacketize(*vd, test::readCapture("h264.rtp"));
    auto ad = rtp::makeDepacketizer(Codec::kAAC);
    audio_ = test::depacketize(*ad, test::readCapture("aac.rtp"));
    ASSERT_EQ(video_.size(), 25u);
    auto ps = extractParameterSets(Codec::kH264, video_[0].data.span(), NalFormat::kLengthPrefixed);
    auto vt = videoTrackFromParameterSets(Codec::kH264, *ps);
    ASSERT_TRUE(vt);
    info_.video = *vt;
    auto sdp = rtp::parseSdp(test::readText("aac.sdp"));
    info_.audio = *rtp::trackFromMedia(sdp->media[0])->audio;
  }

  Frame videoFrame(size_t i) const {
    int64_t ms = int64_t(video_[i].timestamp - video_[0].timestamp) / 90;
    return Frame{MediaKind::kVideo, Codec::kH264, ms, ms, {video_[i].key, false, false},
                 video_[i].data};
  }
  Frame audioFrame(size_t i) const {
    // Millisecond timestamps, as RTMP delivers them.
    int64_t ms = int64_t(audio_[i].timestamp - audio_[0].timestamp) * 1000 / 44100;
    return Frame{MediaKind::kAudio, Codec::kAAC, ms, ms, {}, audio_[i].data};
  }

  std::vector<rtp::DepacketizedFrame> video_, audio_;
  MediaInfo info_;
};

TEST_F(RtspMuxerTest, VideoPacketsRoundTripWithReports) {
  RtspMuxer mux;
  EXPECT_FALSE(mux.header(info_));
  Frame config{MediaKind::kVideo, Codec::kH264, 0, 0, {true, true, false}, info_.video->config};
  EXPECT_FALSE(mux.mux(config, info_)) << "configuration travels in the SDP";
  std::vector<test::Packet> rtpPackets;
  std::vector<rtp::SenderReport> reports;
  for (size_t i = 0; i < video_.size(); ++i) {
    BufferRef b = mux.mux(videoFrame(i), info_);
    ASSERT_TRUE(b);
    bool sawReport = false, sawRtp = false;
    for (auto& f : split(b)) {
      ASSERT_TRUE(f.channel == 0 || f.channel == 1);
      if (f.channel == 0) {
        sawRtp = true;
        rtpPackets.push_back(f.data);
        continue;
      }
      EXPECT_FALSE(sawRtp) << "reports precede the frame's packets";
      sawReport = true;
      ASSERT_TRUE(rtp::forEachRtcp(f.data, [&](const rtp::RtcpHeader& h) {
        if (h.type == rtp::kRtcpSr) reports.push_back(*rtp::parseSenderReport(h.packet));
        return true;
      }));
    }
    if (video_[i].key) {
      EXPECT_TRUE(sawReport) << "every keyframe comes with a report";
    }
  }
  // Continuous numbering, one SSRC, and the same access units back.
  uint16_t seq = rtp::parseRtp(rtpPackets[0])->seq;
  for (auto& p : rtpPackets) {
    auto v = rtp::parseRtp(p);
    EXPECT_EQ(v->seq, seq++);
    EXPECT_EQ(v->payloadType, 96);
    EXPECT_EQ(v->ssrc, rtp::parseRtp(rtpPackets[0])->ssrc);
  }
  auto d = rtp::makeDepacketizer(Codec::kH264);
  auto back = test::depacketize(*d, rtpPackets);
  ASSERT_EQ(back.size(), video_.size());
  for (size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i].data.view(), video_[i].data.view());
    EXPECT_EQ(back[i].timestamp - back[0].timestamp, uint32_t(videoFrame(i).pts * 90));
  }
  // Reports: RTP and NTP timestamps advance together (RFC 3550 §6.4.1).
  ASSERT_GE(reports.size(), 3u);
  for (size_t i = 1; i < reports.size(); ++i) {
    double ntp = double(reports[i].ntp - reports[0].ntp) / 4294967296.0;
    double rtpSec = double(reports[i].rtpTimestamp - reports[0].rtpTimestamp) / 90000.0;
    EXPECT_NEAR(ntp, rtpSec, 0.001);
    EXPECT_GT(reports[i].packetCount, reports[i - 1].packetCount);
  }
}

TEST_F(RtspMuxerTest, AudioTimestampsAreExactAndTracksAlign) {
  RtspMuxer mux;
  std::vector<uint32_t> ts;
  rtp::SenderReport videoSr, audioSr;
  bool haveVideoSr = false, haveAudioSr = false;
  auto collect = [&](const BufferRef& b, rtp::SenderReport& sr, bool& have) {
    for (auto& f : split(b)) {
      if (f.channel == 2) ts.push_back(rtp::parseRtp(f.data)->timestamp);
      if (f.channel % 2 == 1 && !have) {
        have = true;
        sr = *rtp::parseSenderReport(f.data);
      }
    }
  };
  collect(mux.mux(videoFrame(0), info_), videoSr, haveVideoSr);
  for (size_t i = 0; i < audio_.size(); ++i)
    collect(mux.mux(audioFrame(i), info_), audioSr, haveAudioSr);
  ASSERT_TRUE(haveVideoSr && haveAudioSr);
  ASSERT_EQ(ts.size(), audio_.size());
  for (size_t i = 1; i < ts.size(); ++i) EXPECT_EQ(ts[i] - ts[i - 1], 1024u) << i;
  // Both reports map media time to one wall clock: the first audio frame (media time 0) and
  // the keyframe (presentation time 0) name the same NTP instant.
  double gap = double(int64_t(audioSr.ntp - videoSr.ntp)) / 4294967296.0;
  EXPECT_NEAR(gap, 0.0, 0.002);
}

TEST_F(RtspMuxerTest, KeyframesWithoutParameterSetsGetThem) {
  // Strip SPS/PPS from the first access unit, as RTMP sources deliver it.
  BufferWriter w;
  NalIterator it(video_[0].data.span(), NalFormat::kLengthPrefixed, 4);
  ByteSpan nal;
  while (it.next(nal)) {
    uint8_t t = h264::nalType(nal[0]);
    if (t == h264::kNalSps || t == h264::kNalPps) continue;
    w.be32(static_cast<uint32_t>(nal.size()));
    w.append(nal);
  }
  Frame f{MediaKind::kVideo, Codec::kH264, 0, 0, {true, false, false}, w.freeze()};
  RtspMuxer mux;
  auto packets = split(mux.mux(f, info_));
  std::erase_if(packets, [](const auto& p) { return p.channel != 0; });  // the sender report
  ASSERT_GE(packets.size(), 3u);
  auto first = rtp::parseRtp(packets[0].data);
  auto second = rtp::parseRtp(packets[1].data);
  EXPECT_EQ(first->payload[0] & 0x1f, h264::kNalSps);
  EXPECT_EQ(second->payload[0] & 0x1f, h264::kNalPps);
}

}  // namespace
}  // namespace xl::rtsp
