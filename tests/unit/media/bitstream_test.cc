// BitReader, RBSP extraction and NAL framing (Annex B <-> length-prefixed).
#include <gtest/gtest.h>

#include "samples.h"
#include "xueliang/codec.h"

namespace xl {
namespace {

using test::B;

TEST(BitReader, ReadsBitsAndExpGolomb) {
  // 101 | 1 | 010 | 011 | 00100 | 00101 : bits(3)=5, ue=0, ue=1, ue=2, ue=3, se(ue 4)=-2
  const B d = {0b10110100, 0b11001000, 0b01010000};
  BitReader br(d);
  EXPECT_EQ(br.bits(3), 5u);
  EXPECT_EQ(br.ue(), 0u);
  EXPECT_EQ(br.ue(), 1u);
  EXPECT_EQ(br.ue(), 2u);
  EXPECT_EQ(br.ue(), 3u);
  EXPECT_EQ(br.se(), -2);
  EXPECT_FALSE(br.failed());
}

TEST(BitReader, PastEndFailsSticky) {
  const B d = {0xff};
  BitReader br(d);
  EXPECT_EQ(br.bits(4), 15u);
  EXPECT_EQ(br.bits(8), 0u);
  EXPECT_TRUE(br.failed());
  EXPECT_EQ(br.bitsLeft(), 0u);
}

TEST(BitReader, OverlongExpGolombFails) {
  const B zeros(8, 0);
  BitReader br(zeros);
  br.ue();
  EXPECT_TRUE(br.failed());
}

TEST(BitReader, ThirtyTwoBitValues) {
  const B d = {0xde, 0xad, 0xbe, 0xef};
  BitReader br(d);
  EXPECT_EQ(br.bits(32), 0xdeadbeefu);
}

TEST(Rbsp, RemovesEmulationPrevention) {
  const B nal = {0x67, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x03, 0x00, 0x03};
  EXPECT_EQ(nalToRbsp(nal), (B{0x67, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03}));
}

TEST(Nal, AnnexBRoundTrip) {
  // 4-byte and 3-byte start codes, a trailing zero byte and an empty NAL unit.
  const B annexB = {0, 0,    0,    1,    0x67, 0xaa, 0, 0,    1,    0,   0,
                    1, 0x68, 0xbb, 0x00, 0,    0,    1, 0x65, 0x01, 0x02};
  ASSERT_TRUE(looksLikeAnnexB(annexB));
  Result<BufferRef> lp = annexBToLengthPrefixed(annexB);
  ASSERT_TRUE(lp) << lp.message();
  const B expect = {0, 0, 0, 2, 0x67, 0xaa, 0, 0, 0, 2, 0x68, 0xbb, 0, 0, 0, 3, 0x65, 1, 2};
  EXPECT_EQ(B(lp->data(), lp->data() + lp->size()), expect);
  EXPECT_TRUE(h264::isKeyframe(lp->span()));

  Result<BufferRef> back = lengthPrefixedToAnnexB(lp->span());
  ASSERT_TRUE(back);
  const B annexB4 = {0, 0, 0, 1, 0x67, 0xaa, 0, 0, 0, 1, 0x68, 0xbb, 0, 0, 0, 1, 0x65, 1, 2};
  EXPECT_EQ(B(back->data(), back->data() + back->size()), annexB4);
}

TEST(Nal, IteratorOverShortLengths) {
  const B twoByte = {0, 2, 0x41, 0x9a, 0, 1, 0x06};
  NalIterator it(twoByte, NalFormat::kLengthPrefixed, 2);
  ByteSpan nal;
  ASSERT_TRUE(it.next(nal));
  EXPECT_EQ(nal.size(), 2u);
  ASSERT_TRUE(it.next(nal));
  EXPECT_EQ(nal[0], 0x06);
  EXPECT_FALSE(it.next(nal));
  EXPECT_FALSE(it.malformed());
}

TEST(Nal, MalformedLengthsAreErrors) {
  const B bad = {0, 0, 0, 9, 0x65, 0x01};
  NalIterator it(bad, NalFormat::kLengthPrefixed);
  ByteSpan nal;
  EXPECT_FALSE(it.next(nal));
  EXPECT_TRUE(it.malformed());
  EXPECT_FALSE(lengthPrefixedToAnnexB(bad));
  EXPECT_FALSE(isKeyframe(Codec::kH264, bad));
  EXPECT_FALSE(extractParameterSets(Codec::kH264, bad, NalFormat::kLengthPrefixed));
  EXPECT_FALSE(lengthPrefixedToAnnexB(bad, 3));  // invalid length size
  EXPECT_FALSE(annexBToLengthPrefixed(B{1, 2, 3}));
}

TEST(Nal, KeyframeDetection) {
  const B h264P = {0, 0, 0, 2, 0x09, 0xf0, 0, 0, 0, 2, 0x41, 0x9a};
  EXPECT_FALSE(isKeyframe(Codec::kH264, h264P));
  // H.265: CRA (21) is IRAP; TRAIL_R (1) is not.
  const B h265Cra = {0, 0, 0, 3, 0x2a, 0x01, 0xaf};
  const B h265Trail = {0, 0, 0, 3, 0x02, 0x01, 0xd0};
  EXPECT_TRUE(isKeyframe(Codec::kH265, h265Cra));
  EXPECT_FALSE(isKeyframe(Codec::kH265, h265Trail));
  EXPECT_FALSE(isKeyframe(Codec::kAAC, h265Cra));
}

TEST(Nal, ExtractsInBandParameterSetsFromSampleStream) {
  const B stream = test::readSample("h264_main_1918.h264");
  ASSERT_FALSE(stream.empty());
  Result<ParameterSets> ps = extractParameterSets(Codec::kH264, stream, NalFormat::kAnnexB);
  ASSERT_TRUE(ps) << ps.message();
  ASSERT_EQ(ps->sps.size(), 1u);
  EXPECT_EQ(ps->sps[0], test::kH264MainCropSps);
  EXPECT_EQ(ps->pps.size(), 1u);

  // The same access units converted to length-prefixed give the same sets and a keyframe.
  Result<BufferRef> lp = annexBToLengthPrefixed(stream);
  ASSERT_TRUE(lp);
  EXPECT_TRUE(isKeyframe(Codec::kH264, lp->span()));
  Result<ParameterSets> ps2 =
      extractParameterSets(Codec::kH264, lp->span(), NalFormat::kLengthPrefixed);
  ASSERT_TRUE(ps2);
  EXPECT_EQ(ps2->sps, ps->sps);
  EXPECT_EQ(ps2->pps, ps->pps);
}

TEST(Nal, ExtractsHevcParameterSetsFromSampleStream) {
  const B stream = test::readSample("h265_main_1918.h265");
  ASSERT_FALSE(stream.empty());
  Result<ParameterSets> ps = extractParameterSets(Codec::kH265, stream, NalFormat::kAnnexB);
  ASSERT_TRUE(ps);
  ASSERT_EQ(ps->vps.size(), 1u);
  EXPECT_EQ(ps->vps[0], test::kH265Vps);
  EXPECT_EQ(ps->sps[0], test::kH265Sps);
  EXPECT_EQ(ps->pps[0], test::kH265Pps);
  Result<BufferRef> lp = annexBToLengthPrefixed(stream);
  ASSERT_TRUE(lp);
  EXPECT_TRUE(isKeyframe(Codec::kH265, lp->span()));
}

}  // namespace
}  // namespace xl
