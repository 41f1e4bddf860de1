// H.264 SPS and avcC, against parameter sets produced by libx264.
#include <gtest/gtest.h>

#include "samples.h"
#include "xueliang/codec.h"

namespace xl {
namespace {

using test::B;

struct SpsCase {
  const B* sps;
  int width, height, level;
  const char* profile;
};

TEST(H264Sps, ParsesEncoderOutput) {
  const SpsCase cases[] = {
      {&test::kH264HighSps, 1280, 720, 31, "High"},
      {&test::kH264MainCropSps, 1918, 1078, 40, "Main"},
      {&test::kH264BaselineSps, 320, 240, 13, "Constrained Baseline"},
      {&test::kH264High444CqmSps, 640, 360, 30, "High 4:4:4 Predictive"},
      {&test::kH264HighCqmCropSps, 1918, 1078, 40, "High"},
      {&test::kH264InterlacedSps, 720, 572, 30, "High"},
  };
  for (const auto& c : cases) {
    Result<h264::Sps> s = h264::parseSps(*c.sps);
    ASSERT_TRUE(s) << c.profile << ": " << s.message();
    EXPECT_EQ(s->width, c.width) << c.profile;
    EXPECT_EQ(s->height, c.height) << c.profile;
    EXPECT_EQ(s->levelIdc, c.level);
    EXPECT_EQ(h264::profileName(s->profileIdc, s->constraintFlags), c.profile);
  }
}

TEST(H264Sps, ChromaAndFieldDetails) {
  Result<h264::Sps> s444 = h264::parseSps(test::kH264High444CqmSps);
  ASSERT_TRUE(s444);
  EXPECT_EQ(s444->chromaFormatIdc, 3u);
  Result<h264::Sps> field = h264::parseSps(test::kH264InterlacedSps);
  ASSERT_TRUE(field);
  EXPECT_FALSE(field->frameMbsOnly);
}

TEST(H264Sps, RejectsMalformed) {
  EXPECT_FALSE(h264::parseSps(B{}));
  EXPECT_FALSE(h264::parseSps(test::kH264HighPps));  // wrong NAL type
  // Cutting a real SPS anywhere before the end of its cropping fields (byte 11) must fail.
  for (size_t n = 0; n < 11; ++n) {
    B cut(test::kH264MainCropSps.begin(), test::kH264MainCropSps.begin() + n);
    EXPECT_FALSE(h264::parseSps(cut)) << n;
  }
  // Baseline: ids/log2/poc fields 0, then pic_width_in_mbs_minus1 = 2^20 (absurd).
  const B baseline = {0x67, 0x42, 0x00, 0x1e};
  const std::string head = "1 1 1 1 1 0";
  const std::string tail = "1 1 1 0 0 1";  // height 0, frame_mbs_only, direct_8x8, no crop
  EXPECT_TRUE(h264::parseSps(test::bitsToBytes(baseline, head + "0001000" + tail)));  // 7 mbs
  const std::string width2p20 = "00000000000000000000 1 00000000000000000001";
  EXPECT_FALSE(h264::parseSps(test::bitsToBytes(baseline, head + width2p20 + tail)));
  // Cropping (crop_left 8 -> 16 luma) as large as a 16-pixel-wide picture.
  EXPECT_FALSE(h264::parseSps(test::bitsToBytes(baseline, head + "1 1 1 1 1 0001001 1 1 1 0 1")));
  // chroma_format_idc = 4 in a High profile SPS: ue(4) = 00101.
  EXPECT_FALSE(h264::parseSps(test::bitsToBytes({0x67, 0x64, 0x00, 0x1f}, "1 00101 1 1 1 0 0")));
  // pic_order_cnt_type = 3.
  EXPECT_FALSE(h264::parseSps(test::bitsToBytes(baseline, "1 1 00100 1 1 0 1 1 1 1 0 0 1")));
}

TEST(AvcC, ParsesFfmpegRecord) {
  // avcC written by ffmpeg's mp4 muxer for the 1280x720 High stream.
  const B rec = {0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x64, 0x00, 0x1f,
                 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
                 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x83, 0x19, 0x60, 0x01, 0x00,
                 0x06, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0, 0xfd, 0xf8, 0xf8, 0x00};
  Result<h264::AvcConfig> c = h264::parseAvcC(rec);
  ASSERT_TRUE(c) << c.message();
  EXPECT_EQ(c->profileIdc, 100);
  EXPECT_EQ(c->levelIdc, 31);
  EXPECT_EQ(c->lengthSize, 4);
  ASSERT_EQ(c->sps.size(), 1u);
  EXPECT_EQ(c->sps[0], test::kH264HighSps);
  EXPECT_EQ(c->pps[0], test::kH264HighPps);
  EXPECT_TRUE(c->hasExtension);
  EXPECT_EQ(c->chromaFormat, 1);

  // Our builder produces the identical record.
  Result<BufferRef> built = h264::buildAvcC({{}, {test::kH264HighSps}, {test::kH264HighPps}});
  ASSERT_TRUE(built);
  EXPECT_EQ(B(built->data(), built->data() + built->size()), rec);
}

TEST(AvcC, BuildParseRoundTripWithoutExtension) {
  Result<BufferRef> built =
      h264::buildAvcC({{}, {test::kH264MainCropSps}, {B{0x68, 0xeb, 0xe3, 0xcb, 0x20}}});
  ASSERT_TRUE(built);
  Result<h264::AvcConfig> c = h264::parseAvcC(built->span());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->profileIdc, 77);
  EXPECT_EQ(c->profileCompatibility, 0x40);
  EXPECT_FALSE(c->hasExtension);  // Main profile carries none
  EXPECT_EQ(c->sps[0], test::kH264MainCropSps);
}

TEST(AvcC, RejectsMalformed) {
  EXPECT_FALSE(h264::buildAvcC({{}, {test::kH264HighSps}, {}}));  // no PPS
  EXPECT_FALSE(h264::buildAvcC({{}, {test::kH264HighPps}, {test::kH264HighPps}}));
  EXPECT_FALSE(h264::parseAvcC(B{0x01, 0x64, 0x00}));
  EXPECT_FALSE(h264::parseAvcC(B{0x02, 0x64, 0x00, 0x1f, 0xff, 0xe0, 0x00}));  // version
  EXPECT_FALSE(h264::parseAvcC(B{0x01, 0x64, 0x00, 0x1f, 0xfe, 0xe0, 0x00}));  // 3-byte lengths
  // SPS length runs past the end.
  EXPECT_FALSE(h264::parseAvcC(B{0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x40, 0x67}));
  // Missing PPS count.
  EXPECT_FALSE(h264::parseAvcC(B{0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x01, 0x67}));
}

}  // namespace
}  // namespace xl
