// H.265 VPS/SPS and hvcC, against parameter sets produced by libx265.
#include <gtest/gtest.h>

#include "samples.h"
#include "xueliang/codec.h"

namespace xl {
namespace {

using test::B;

TEST(H265Sps, ParsesEncoderOutput) {
  Result<h265::Sps> s = h265::parseSps(test::kH265Sps);
  ASSERT_TRUE(s) << s.message();
  EXPECT_EQ(s->width, 1918);  // 1920x1080 coded, conformance window right 2 / bottom 2 luma
  EXPECT_EQ(s->height, 1078);
  EXPECT_EQ(s->ptl.profileIdc, 1);
  EXPECT_EQ(s->ptl.levelIdc, 120);
  EXPECT_FALSE(s->ptl.tier);
  EXPECT_EQ(s->chromaFormatIdc, 1u);
  EXPECT_EQ(s->bitDepthLuma, 8u);
  EXPECT_EQ(s->maxSubLayers, 1);
  EXPECT_EQ(h265::profileName(s->ptl), "Main");

  Result<h265::Sps> s10 = h265::parseSps(test::kH265Main10Sps);
  ASSERT_TRUE(s10);
  EXPECT_EQ(h265::profileName(s10->ptl), "Main 10");
  EXPECT_EQ(s10->bitDepthLuma, 10u);
  EXPECT_EQ(s10->width, 1918);

  Result<h265::Sps> rext = h265::parseSps(test::kH265RextSps);
  ASSERT_TRUE(rext);
  EXPECT_EQ(h265::profileName(rext->ptl), "Rext");
  EXPECT_EQ(rext->chromaFormatIdc, 3u);
  EXPECT_EQ(rext->width, 1280);
  EXPECT_EQ(rext->height, 720);
  EXPECT_EQ(rext->ptl.levelIdc, 93);
}

TEST(H265Vps, ParsesEncoderOutput) {
  Result<h265::Vps> v = h265::parseVps(test::kH265Vps);
  ASSERT_TRUE(v) << v.message();
  EXPECT_EQ(v->vpsId, 0);
  EXPECT_EQ(v->maxSubLayers, 1);
  EXPECT_EQ(v->ptl.profileIdc, 1);
  EXPECT_EQ(v->ptl.levelIdc, 120);
}

TEST(H265Sps, RejectsMalformed) {
  EXPECT_FALSE(h265::parseSps(B{}));
  EXPECT_FALSE(h265::parseSps(test::kH265Vps));  // wrong type
  EXPECT_FALSE(h265::parseVps(test::kH265Sps));
  for (size_t n = 0; n < 22; ++n) {
    B cut(test::kH265Sps.begin(), test::kH265Sps.begin() + n);
    EXPECT_FALSE(h265::parseSps(cut)) << n;
  }
  // sps_max_sub_layers_minus1 = 7 (reserved).
  B bad = test::kH265Sps;
  bad[2] = 0x0e;
  EXPECT_FALSE(h265::parseSps(bad));
}

TEST(HvcC, BuildMatchesEncoderHeaderAndRoundTrips) {
  ParameterSets ps{{test::kH265Vps}, {test::kH265Sps}, {test::kH265Pps}};
  Result<BufferRef> rec = h265::buildHvcC(ps);
  ASSERT_TRUE(rec) << rec.message();
  // Header fields as ffmpeg writes them for this stream (level 4.0, Main, 8 bit 4:2:0).
  const B header = {0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00,
                    0x78, 0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0x00, 0x00, 0x0f, 0x03};
  ASSERT_GE(rec->size(), header.size());
  EXPECT_EQ(B(rec->data(), rec->data() + header.size()), header);

  Result<h265::HevcConfig> c = h265::parseHvcC(rec->span());
  ASSERT_TRUE(c) << c.message();
  EXPECT_EQ(c->ptl.profileIdc, 1);
  EXPECT_EQ(c->ptl.compatibilityFlags, 0x60000000u);
  EXPECT_EQ(c->ptl.constraintFlags, 0x900000000000u);
  EXPECT_EQ(c->ptl.levelIdc, 120);
  EXPECT_EQ(c->lengthSize, 4);
  EXPECT_EQ(c->numTemporalLayers, 1);
  EXPECT_TRUE(c->temporalIdNested);
  EXPECT_EQ(c->ps.vps, ps.vps);
  EXPECT_EQ(c->ps.sps, ps.sps);
  EXPECT_EQ(c->ps.pps, ps.pps);
}

TEST(HvcC, RejectsMalformed) {
  EXPECT_FALSE(h265::buildHvcC({{}, {test::kH265Sps}, {test::kH265Pps}}));  // no VPS
  ParameterSets ps{{test::kH265Vps}, {test::kH265Sps}, {test::kH265Pps}};
  Result<BufferRef> rec = h265::buildHvcC(ps);
  ASSERT_TRUE(rec);
  B full(rec->data(), rec->data() + rec->size());
  // Every strict truncation that cuts into the arrays must fail.
  for (size_t n = 0; n < full.size(); ++n) {
    B cut(full.begin(), full.begin() + n);
    EXPECT_FALSE(h265::parseHvcC(cut)) << n;
  }
  B badVersion = full;
  badVersion[0] = 0;
  EXPECT_FALSE(h265::parseHvcC(badVersion));
}

}  // namespace
}  // namespace xl
