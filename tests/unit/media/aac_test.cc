// AudioSpecificConfig and ADTS against ffmpeg's AAC encoder output.
#include <gtest/gtest.h>

#include "samples.h"
#include "xueliang/codec.h"

namespace xl {
namespace {

using test::B;

TEST(Asc, ParsesCommonConfigs) {
  Result<aac::AudioSpecificConfig> lc = aac::parseAsc(B{0x12, 0x10});  // LC 44.1k stereo
  ASSERT_TRUE(lc);
  EXPECT_EQ(lc->objectType, 2);
  EXPECT_EQ(lc->sampleRate, 44100);
  EXPECT_EQ(lc->channels, 2);

  Result<aac::AudioSpecificConfig> mono48 = aac::parseAsc(B{0x11, 0x88});  // LC 48k mono
  ASSERT_TRUE(mono48);
  EXPECT_EQ(mono48->sampleRate, 48000);
  EXPECT_EQ(mono48->channels, 1);

  // HE-AAC v1, explicit: AOT 5, 24 kHz core, stereo, extension 48 kHz, core AOT 2.
  Result<aac::AudioSpecificConfig> he = aac::parseAsc(B{0x2b, 0x11, 0x88, 0x00});
  ASSERT_TRUE(he) << he.message();
  EXPECT_EQ(he->extensionObjectType, 5);
  EXPECT_EQ(he->objectType, 2);
  EXPECT_EQ(he->sampleRate, 24000);
  EXPECT_EQ(he->outputSampleRate(), 48000);
}

TEST(Asc, EscapesRoundTrip) {
  // Object type 42 (USAC) needs the 31 escape; 12345 Hz needs the explicit 24-bit frequency.
  Result<BufferRef> built = aac::buildAsc(42, 12345, 6);
  ASSERT_TRUE(built);
  Result<aac::AudioSpecificConfig> c = aac::parseAsc(built->span());
  ASSERT_TRUE(c) << c.message();
  EXPECT_EQ(c->objectType, 42);
  EXPECT_EQ(c->frequencyIndex, 15);
  EXPECT_EQ(c->sampleRate, 12345);
  EXPECT_EQ(c->channels, 6);

  Result<BufferRef> lc = aac::buildAsc(2, 44100, 2);
  ASSERT_TRUE(lc);
  EXPECT_EQ(B(lc->data(), lc->data() + lc->size()), (B{0x12, 0x10}));
}

TEST(Asc, RejectsMalformed) {
  EXPECT_FALSE(aac::parseAsc(B{}));
  EXPECT_FALSE(aac::parseAsc(B{0x12}));
  EXPECT_FALSE(aac::parseAsc(B{0x00, 0x10}));  // object type 0
  EXPECT_FALSE(aac::parseAsc(B{0x16, 0x90}));  // frequency index 13 (reserved)
  EXPECT_FALSE(aac::parseAsc(B{0x17, 0x80}));  // explicit frequency, truncated
  EXPECT_FALSE(aac::parseAsc(B{0x12, 0x40}));  // channel configuration 8 (reserved)
  EXPECT_FALSE(aac::buildAsc(0, 44100, 2));
  EXPECT_FALSE(aac::buildAsc(2, 0, 2));
}

TEST(Adts, ParsesAndStripsSampleFile) {
  const B file = test::readSample("aac_44k.aac");
  ASSERT_FALSE(file.empty());
  size_t pos = 0, frames = 0;
  while (pos < file.size()) {
    ByteSpan rest(file.data() + pos, file.size() - pos);
    Result<aac::AdtsHeader> h = aac::parseAdts(rest);
    ASSERT_TRUE(h) << h.message();
    EXPECT_EQ(h->objectType, 2);
    EXPECT_EQ(h->sampleRate, 44100);
    EXPECT_EQ(h->channelConfig, 2);
    Result<ByteSpan> payload = aac::stripAdts(rest);
    ASSERT_TRUE(payload);
    EXPECT_EQ(payload->size() + h->headerSize, h->frameLength);

    // Rebuilding the header from the parsed fields reproduces the original 7 bytes, apart
    // from buffer fullness, which the encoder sets and we write as VBR.
    uint8_t hdr[aac::kAdtsHeaderSize];
    ASSERT_TRUE(aac::buildAdtsHeader(h->objectType, h->frequencyIndex, h->channelConfig,
                                     payload->size(), hdr));
    Result<aac::AdtsHeader> again = aac::parseAdts(ByteSpan(hdr, sizeof hdr));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->frameLength, h->frameLength);
    EXPECT_EQ(B(hdr, hdr + 5), B(rest.begin(), rest.begin() + 5)) << frames;
    pos += h->frameLength;
    ++frames;
  }
  EXPECT_GT(frames, 3u);
  Result<aac::AdtsHeader> first = aac::parseAdts(file);
  Result<BufferRef> asc = aac::ascFromAdts(*first);
  ASSERT_TRUE(asc);
  EXPECT_EQ(B(asc->data(), asc->data() + asc->size()), (B{0x12, 0x10}));
}

TEST(Adts, RejectsMalformed) {
  EXPECT_FALSE(aac::parseAdts(B{0xff, 0xf1, 0x50}));
  EXPECT_FALSE(aac::parseAdts(B{0xfe, 0xf1, 0x50, 0x80, 0x2b, 0x3f, 0xfc}));  // sync
  EXPECT_FALSE(aac::parseAdts(B{0xff, 0xf3, 0x50, 0x80, 0x2b, 0x3f, 0xfc}));  // layer 1
  EXPECT_FALSE(aac::parseAdts(B{0xff, 0xf1, 0x74, 0x80, 0x2b, 0x3f, 0xfc}));  // index 13
  EXPECT_FALSE(aac::parseAdts(B{0xff, 0xf1, 0x50, 0x80, 0x00, 0x1f, 0xfc}));  // length 0
  // Header says 345 bytes, data holds 7.
  EXPECT_FALSE(aac::stripAdts(B{0xff, 0xf1, 0x50, 0x80, 0x2b, 0x3f, 0xfc}));
  uint8_t hdr[aac::kAdtsHeaderSize];
  EXPECT_FALSE(aac::buildAdtsHeader(2, 4, 2, 9000, hdr));  // over 13 bits
  EXPECT_FALSE(aac::buildAdtsHeader(5, 4, 2, 100, hdr));   // SBR is not an ADTS profile
  EXPECT_FALSE(aac::buildAdtsHeader(2, 13, 2, 100, hdr));
}

}  // namespace
}  // namespace xl
