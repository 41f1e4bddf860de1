#include "rtp/sdp.h"

#include <gtest/gtest.h>

#include "rtp/sdp_media.h"
#include "rtp_samples.h"

namespace xl::rtp {
namespace {

RtpTrackInfo onlyTrack(const std::string& file) {
  auto sdp = parseSdp(test::readText(file));
  EXPECT_TRUE(sdp) << sdp.message();
  EXPECT_EQ(sdp->media.size(), 1u);
  auto t = trackFromMedia(sdp->media.at(0));
  EXPECT_TRUE(t) << t.message();
  return *t;
}

TEST(Sdp, ParsesFfmpegDescriptions) {
  auto h264 = onlyTrack("h264_sdp.sdp");
  EXPECT_EQ(h264.codec, Codec::kH264);
  EXPECT_EQ(h264.clockRate, 90000u);
  ASSERT_TRUE(h264.video);
  EXPECT_EQ(h264.video->width, 320);
  EXPECT_EQ(h264.video->height, 240);

  auto h265 = onlyTrack("h265_sdp.sdp");
  EXPECT_EQ(h265.codec, Codec::kH265);
  ASSERT_TRUE(h265.video);
  EXPECT_EQ(h265.video->width, 320);

  auto aac = onlyTrack("aac.sdp");
  EXPECT_EQ(aac.codec, Codec::kAAC);
  EXPECT_EQ(aac.clockRate, 44100u);
  EXPECT_EQ(aac.aac.sizeLength, 13);
  ASSERT_TRUE(aac.audio);
  EXPECT_EQ(aac.audio->sampleRate, 44100);
  EXPECT_EQ(aac.audio->channels, 2);

  auto pcmu = onlyTrack("pcmu.sdp");  // static payload type 0, no rtpmap
  EXPECT_EQ(pcmu.codec, Codec::kG711U);
  EXPECT_EQ(pcmu.clockRate, 8000u);

  auto noSprop = onlyTrack("h264.sdp");  // parameter sets only in-band
  EXPECT_EQ(noSprop.codec, Codec::kH264);
  EXPECT_FALSE(noSprop.video);
}

TEST(Sdp, DescribeAndReadBackTracks) {
  auto h264 = onlyTrack("h264_sdp.sdp");
  auto aac = onlyTrack("aac.sdp");
  h264.video->fps = 25;
  SessionDescription sdp;
  sdp.name = "live/demo";
  sdp.connection = "IN IP4 0.0.0.0";
  sdp.attributes.push_back({"control", "*"});
  auto v = describeVideo(*h264.video, "trackID=0");
  ASSERT_TRUE(v) << v.message();
  auto a = describeAudio(*aac.audio, "trackID=1");
  ASSERT_TRUE(a) << a.message();
  sdp.media = {*v, *a};
  std::string text = writeSdp(sdp);
  EXPECT_NE(text.find("a=fmtp:96 packetization-mode=1;profile-level-id=64000d;"
                      "sprop-parameter-sets=Z2QADazZQUH7ARAAAAMAEAAAAwMg8UKZYA==,aOvjyyLA\r\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("a=rtpmap:97 MPEG4-GENERIC/44100/2\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("config=121056e500"), std::string::npos) << text;

  auto back = parseSdp(text);
  ASSERT_TRUE(back) << back.message();
  ASSERT_EQ(back->media.size(), 2u);
  EXPECT_EQ(*back->attribute("control"), "*");
  auto v2 = trackFromMedia(back->media[0]);
  ASSERT_TRUE(v2 && v2->video);
  EXPECT_EQ(v2->control, "trackID=0");
  EXPECT_EQ(v2->video->config.view(), h264.video->config.view());
  auto a2 = trackFromMedia(back->media[1]);
  ASSERT_TRUE(a2 && a2->audio);
  EXPECT_EQ(a2->audio->config.view(), aac.audio->config.view());
}

TEST(Sdp, H265DescriptionRoundTrip) {
  auto h265 = onlyTrack("h265_sdp.sdp");
  auto m = describeVideo(*h265.video, "trackID=0");
  ASSERT_TRUE(m) << m.message();
  auto t = trackFromMedia(*m);
  ASSERT_TRUE(t && t->video) << t.message();
  EXPECT_EQ(t->codec, Codec::kH265);
  EXPECT_EQ(t->video->config.view(), h265.video->config.view());
}

TEST(Sdp, RejectsMalformed) {
  EXPECT_FALSE(parseSdp(""));
  EXPECT_FALSE(parseSdp("o=- 0 0 IN IP4 1.2.3.4\r\n"));       // no v=0 first
  EXPECT_FALSE(parseSdp("v=0\r\nm=video\r\n"));               // short m= line
  EXPECT_FALSE(parseSdp("v=0\r\nm=video x RTP/AVP 96\r\n"));  // bad port
  EXPECT_FALSE(parseSdp("v=0\r\nbogus line\r\n"));
  EXPECT_FALSE(parseSdp(std::string(70000, 'a')));
  auto ok = parseSdp("v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 VP8/90000\n");
  ASSERT_TRUE(ok);
  EXPECT_FALSE(trackFromMedia(ok->media[0]));  // unsupported encoding, with a reason
  EXPECT_FALSE(parseRtpMap("96 H264"));
  EXPECT_FALSE(parseRtpMap("300 H264/90000"));
  EXPECT_FALSE(base64Decode("ab$c"));
  EXPECT_FALSE(hexDecode("abc"));
}

TEST(Sdp, FmtpAndBase64) {
  auto f = parseFmtp("96 Packetization-Mode=1; sprop-parameter-sets=Z0I=,aM4=;flag");
  EXPECT_EQ(f["packetization-mode"], "1");
  EXPECT_EQ(f["sprop-parameter-sets"], "Z0I=,aM4=");
  EXPECT_TRUE(f.count("flag"));
  std::vector<uint8_t> raw = {0, 1, 2, 0xfe, 0xff};
  for (size_t n = 0; n <= raw.size(); ++n) {
    ByteSpan s(raw.data(), n);
    auto back = base64Decode(base64Encode(s));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, Bytes(s.begin(), s.end()));
  }
}

}  // namespace
}  // namespace xl::rtp
