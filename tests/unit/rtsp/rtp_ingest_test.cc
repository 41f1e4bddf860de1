// RtpIngest on real captures (tests/data/rtsp, ffmpeg's RTP muxer): H.264 with B-frames and
// parameter sets only in-band, AAC; then the same packets reordered, wrapped and lost.
#include "rtsp/rtp_ingest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "rtp/sdp.h"
#include "rtp_samples.h"

namespace xl::rtsp {
namespace {

using test::Packet;

struct Seen {
  Frame frame;
  MediaInfoPtr media;  // the stream's MediaInfo when the frame arrived
};

class Recorder : public FrameSink {
 public:
  Recorder(Stream& s, std::vector<Seen>& out) : stream_(s), out_(out) {}
  void onFrame(const Frame& f) override { out_.push_back({f, stream_.mediaInfo()}); }

 private:
  Stream& stream_;
  std::vector<Seen>& out_;
};

std::vector<rtp::RtpTrackInfo> tracksOf(const std::string& sdpFile) {
  auto sdp = rtp::parseSdp(test::readText(sdpFile));
  EXPECT_TRUE(sdp) << sdp.message();
  std::vector<rtp::RtpTrackInfo> out;
  for (auto& m : sdp->media) {
    auto t = rtp::trackFromMedia(m);
    EXPECT_TRUE(t) << t.message();
    out.push_back(*t);
  }
  return out;
}

class RtpIngestTest : public ::testing::Test {
 protected:
  // Feeds `packets` as track 0 of `sdpFile`; returns every frame the stream got (config too).
  std::vector<Seen> run(const std::string& sdpFile, const std::vector<Packet>& packets,
                        RtpIngestTrackStats* stats = nullptr) {
    Stream stream("live/test", worker_, {&worker_}, formats_, PublisherInfo{"rtsp", "test"}, {});
    std::vector<Seen> seen;
    stream.addFrameSink(std::make_unique<Recorder>(stream, seen));
    {
      RtpIngest ingest(tracksOf(sdpFile), stream);
      for (auto& p : packets) ingest.onRtp(0, p.data(), p.size());
      ingest.flush();  // the end of the capture: what waits for a gap or a decode time goes out
      if (stats) *stats = ingest.stats(0);
    }
    return seen;
  }
  static std::vector<Seen> media(const std::vector<Seen>& all) {
    std::vector<Seen> out;
    for (auto& s : all)
      if (!s.frame.flags.config) out.push_back(s);
    return out;
  }

  Worker worker_{0};
  std::vector<OutputFormat> formats_;
};

TEST_F(RtpIngestTest, H264WithInBandParameterSetsAndBFrames) {
  auto packets = test::readCapture("h264.rtp");
  ASSERT_GT(packets.size(), 25u);
  RtpIngestTrackStats stats;
  auto all = run("h264.sdp", packets, &stats);  // no sprop-parameter-sets in this SDP
  ASSERT_FALSE(all.empty());
  // The configuration comes first, and the stream is described before the first keyframe.
  EXPECT_TRUE(all[0].frame.flags.config);
  auto frames = media(all);
  ASSERT_EQ(frames.size(), 25u);  // 1 s at 25 fps, nothing lost
  EXPECT_TRUE(frames[0].frame.flags.key);
  ASSERT_TRUE(frames[0].media && frames[0].media->video);
  EXPECT_EQ(frames[0].media->video->width, 320);
  EXPECT_EQ(frames[0].media->video->height, 240);
  EXPECT_EQ(frames[0].media->video->codec, Codec::kH264);

  int keys = 0, reordered = 0;
  std::vector<int64_t> pts;
  for (size_t i = 0; i < frames.size(); ++i) {
    const Frame& f = frames[i].frame;
    keys += f.flags.key;
    reordered += f.pts > f.dts;
    EXPECT_LE(f.dts, f.pts) << "frame " << i << " decoded after it is shown";
    if (i) {
      EXPECT_GT(f.dts, frames[i - 1].frame.dts) << "frame " << i;
    }
    pts.push_back(f.pts);
  }
  EXPECT_EQ(keys, 3);       // keyint=10 over 25 frames
  EXPECT_GT(reordered, 5);  // -bf 2: B-frames present after their references
  std::sort(pts.begin(), pts.end());
  for (size_t i = 1; i < pts.size(); ++i) EXPECT_EQ(pts[i] - pts[i - 1], 40) << i;
  EXPECT_EQ(stats.lost, 0u);
  EXPECT_EQ(stats.frames, 25u);
}

TEST_F(RtpIngestTest, SpropInTheSdpDescribesTheStreamAtOnce) {
  Stream stream("live/test", worker_, {&worker_}, formats_, PublisherInfo{"rtsp", "test"}, {});
  RtpIngest ingest(tracksOf("h264_sdp.sdp"), stream);
  EXPECT_TRUE(ingest.ready());
  ASSERT_TRUE(stream.mediaInfo()->video);
  EXPECT_EQ(stream.mediaInfo()->video->width, 320);

  Stream other("live/other", worker_, {&worker_}, formats_, PublisherInfo{"rtsp", "test"}, {});
  RtpIngest waiting(tracksOf("h264.sdp"), other);
  EXPECT_FALSE(waiting.ready());
  EXPECT_FALSE(other.mediaInfo()->video);
}

TEST_F(RtpIngestTest, ReorderedPacketsGiveTheSameFrames) {
  auto packets = test::readCapture("h264.rtp");
  auto shuffled = packets;
  for (size_t i = 1; i + 2 < shuffled.size(); i += 4) std::swap(shuffled[i], shuffled[i + 2]);
  RtpIngestTrackStats stats;
  auto a = media(run("h264.sdp", packets));
  auto b = media(run("h264.sdp", shuffled, &stats));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].frame.pts, b[i].frame.pts);
    EXPECT_EQ(a[i].frame.data.view(), b[i].frame.data.view());
  }
  EXPECT_GT(stats.reordered, 0u);
  EXPECT_EQ(stats.lost, 0u);
}

TEST_F(RtpIngestTest, SequenceAndTimestampWrap) {
  auto packets = test::readCapture("h264.rtp");
  uint16_t seq0 = rtp::be16(packets[0].data() + 2);
  uint32_t ts0 = rtp::be32(packets[0].data() + 4);
  auto wrapped = packets;
  for (auto& p : wrapped) {
    // Sequence numbers cross 65535 and timestamps cross 2^32 in the middle of the capture.
    rtp::putBe16(p.data() + 2, static_cast<uint16_t>(rtp::be16(p.data() + 2) - seq0 + 65500));
    rtp::putBe32(p.data() + 4, rtp::be32(p.data() + 4) - ts0 + (0u - 3600u * 12));
  }
  auto a = media(run("h264.sdp", packets));
  auto b = media(run("h264.sdp", wrapped));
  ASSERT_EQ(a.size(), 25u);
  ASSERT_EQ(b.size(), 25u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].frame.pts - a[0].frame.pts, b[i].frame.pts - b[0].frame.pts) << i;
    EXPECT_EQ(a[i].frame.dts - a[0].frame.dts, b[i].frame.dts - b[0].frame.dts) << i;
  }
}

TEST_F(RtpIngestTest, LossDropsVideoUntilTheNextKeyframe) {
  auto packets = test::readCapture("h264.rtp");
  // Drop a packet of the fourth access unit (timestamps change between access units).
  std::set<uint32_t> seenTs;
  size_t victim = 0;
  for (size_t i = 0; i < packets.size(); ++i) {
    seenTs.insert(rtp::be32(packets[i].data() + 4));
    if (seenTs.size() == 4) {
      victim = i;
      break;
    }
  }
  ASSERT_GT(victim, 0u);
  packets.erase(packets.begin() + static_cast<long>(victim));
  RtpIngestTrackStats stats;
  auto frames = media(run("h264.sdp", packets, &stats));
  EXPECT_EQ(stats.lost, 1u);
  EXPECT_LT(frames.size(), 25u);
  EXPECT_GE(frames.size(), 18u);  // the first frames and the two later GOPs
  // After the gap, output restarts on a keyframe: the frame following the first three is key.
  ASSERT_GT(frames.size(), 3u);
  EXPECT_TRUE(frames[3].frame.flags.key);
  for (size_t i = 1; i < frames.size(); ++i)
    EXPECT_GT(frames[i].frame.dts, frames[i - 1].frame.dts);
}

TEST_F(RtpIngestTest, AacFramesAreTimedByTheRtpClock) {
  auto packets = test::readCapture("aac.rtp");
  auto all = run("aac.sdp", packets);
  auto frames = media(all);
  ASSERT_GT(frames.size(), 40u);  // 1 s of 1024-sample frames at 44.1 kHz
  ASSERT_TRUE(frames[0].media->audio);
  EXPECT_EQ(frames[0].media->audio->sampleRate, 44100);
  for (size_t i = 1; i < frames.size(); ++i) {
    int64_t step = frames[i].frame.dts - frames[i - 1].frame.dts;
    EXPECT_TRUE(step == 23 || step == 24) << i << ": " << step;
  }
}

TEST_F(RtpIngestTest, GarbageIsCountedNotFatal) {
  Stream stream("live/test", worker_, {&worker_}, formats_, PublisherInfo{"rtsp", "test"}, {});
  RtpIngest ingest(tracksOf("h264.sdp"), stream);
  const uint8_t junk[] = {0x00, 0x01, 0x02};
  ingest.onRtp(0, junk, sizeof junk);
  ingest.onRtp(7, junk, sizeof junk);  // no such track
  ingest.onRtcp(0, junk, sizeof junk);
  EXPECT_EQ(ingest.stats(0).malformed, 2u);
  EXPECT_EQ(ingest.lastMediaTime(), 0u);
}

}  // namespace
}  // namespace xl::rtsp
