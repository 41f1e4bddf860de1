// Configuration records -> VideoTrack / AudioTrack.
#include <gtest/gtest.h>

#include "samples.h"
#include "xueliang/codec.h"

namespace xl {
namespace {

using test::B;

BufferRef bytesRef(const B& b) {
  return BufferRef::copyOf(b.data(), b.size());
}

TEST(Track, H264FromAvcC) {
  Result<BufferRef> rec = h264::buildAvcC({{}, {test::kH264MainCropSps}, {test::kH264HighPps}});
  ASSERT_TRUE(rec);
  Result<VideoTrack> t = videoTrackFromConfig(Codec::kH264, *rec);
  ASSERT_TRUE(t) << t.message();
  EXPECT_EQ(t->codec, Codec::kH264);
  EXPECT_EQ(t->width, 1918);
  EXPECT_EQ(t->height, 1078);
  EXPECT_EQ(t->profile, "Main");
  EXPECT_EQ(t->level, 40);
  EXPECT_EQ(t->config.size(), rec->size());
}

TEST(Track, H265FromInBandParameterSets) {
  const B stream = test::readSample("h265_main_1918.h265");
  Result<ParameterSets> ps = extractParameterSets(Codec::kH265, stream, NalFormat::kAnnexB);
  ASSERT_TRUE(ps);
  Result<VideoTrack> t = videoTrackFromParameterSets(Codec::kH265, *ps);
  ASSERT_TRUE(t) << t.message();
  EXPECT_EQ(t->width, 1918);
  EXPECT_EQ(t->height, 1078);
  EXPECT_EQ(t->profile, "Main");
  EXPECT_EQ(t->level, 40);  // general_level_idc 120
  EXPECT_TRUE(h265::parseHvcC(t->config.span()));
}

TEST(Track, VideoErrors) {
  EXPECT_FALSE(videoTrackFromConfig(Codec::kAAC, bytesRef(B{1, 2, 3})));
  EXPECT_FALSE(videoTrackFromConfig(Codec::kH264, BufferRef()));
  // avcC without SPS.
  EXPECT_FALSE(videoTrackFromConfig(Codec::kH264, bytesRef(B{1, 0x64, 0, 0x1f, 0xff, 0xe0, 0})));
  EXPECT_FALSE(videoTrackFromParameterSets(Codec::kH265, ParameterSets{}));
}

TEST(Track, Audio) {
  Result<AudioTrack> aacTrack = audioTrackFromConfig(Codec::kAAC, bytesRef(B{0x11, 0x88}));
  ASSERT_TRUE(aacTrack);
  EXPECT_EQ(aacTrack->sampleRate, 48000);
  EXPECT_EQ(aacTrack->channels, 1);
  EXPECT_EQ(aacTrack->config.size(), 2u);

  Result<AudioTrack> pcma = audioTrackFromConfig(Codec::kG711A, BufferRef());
  ASSERT_TRUE(pcma);
  EXPECT_EQ(pcma->sampleRate, 8000);
  EXPECT_EQ(pcma->channels, 1);
  EXPECT_FALSE(pcma->config);

  Result<AudioTrack> opus = audioTrackFromConfig(Codec::kOpus, BufferRef());
  ASSERT_TRUE(opus);
  EXPECT_EQ(opus->sampleRate, 48000);

  EXPECT_FALSE(audioTrackFromConfig(Codec::kAAC, bytesRef(B{0x00})));
  EXPECT_FALSE(audioTrackFromConfig(Codec::kH264, BufferRef()));
  EXPECT_FALSE(audioTrackFromConfig(Codec::kOpus, bytesRef(B{'O', 'p'})));
}

}  // namespace
}  // namespace xl
