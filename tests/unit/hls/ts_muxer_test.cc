#include "hls/ts_muxer.h"

#include <gtest/gtest.h>

#include "test_media.h"
#include "ts_reader.h"

namespace xl::hls {
namespace {

using test::TsReader;

TEST(Crc32Mpeg, KnownValues) {
  // CRC-32/MPEG-2 check value for "123456789".
  const char* s = "123456789";
  EXPECT_EQ(crc32Mpeg({reinterpret_cast<const uint8_t*>(s), 9}), 0x0376E6E7u);
  EXPECT_EQ(crc32Mpeg({}), 0xFFFFFFFFu);
}

TEST(TsMuxer, PatAndPmtWithValidCrc) {
  TsMuxer m;
  ASSERT_TRUE(m.setMediaInfo(*test::h264AacInfo()));
  BufferWriter out;
  m.writeTables(out);
  ASSERT_EQ(out.size(), 2 * kTsPacketSize);
  TsReader r;
  r.feed(out.data(), out.size());
  ASSERT_EQ(r.sections.size(), 2u);
  // A section followed by its CRC_32 has a CRC of 0 over the whole (Annex A).
  for (auto& sec : r.sections) {
    size_t len = 3 + ((sec[1] & 0x0F) << 8 | sec[2]);
    ASSERT_LE(len, sec.size());
    EXPECT_EQ(crc32Mpeg({sec.data(), len}), 0u);
  }
  const auto& pat = r.sections[0];
  EXPECT_EQ(pat[0], 0x00);
  EXPECT_EQ((pat[10] & 0x1F) << 8 | pat[11], kPmtPid);
  const auto& pmt = r.sections[1];
  EXPECT_EQ(pmt[0], 0x02);
  EXPECT_EQ((pmt[8] & 0x1F) << 8 | pmt[9], kVideoPid);  // PCR_PID
  EXPECT_EQ(pmt[12], kStreamTypeH264);
  EXPECT_EQ((pmt[13] & 0x1F) << 8 | pmt[14], kVideoPid);
  EXPECT_EQ(pmt[17], kStreamTypeAacAdts);
  EXPECT_EQ((pmt[18] & 0x1F) << 8 | pmt[19], kAudioPid);
}

TEST(TsMuxer, VideoPesHasAudSpsPpsPtsDtsAndPcr) {
  TsMuxer m;
  ASSERT_TRUE(m.setMediaInfo(*test::h264AacInfo()));
  BufferWriter out;
  m.writeTables(out);
  ASSERT_TRUE(m.writeFrame(test::videoFrame(1000, true, 5000, 80), out));
  ASSERT_TRUE(m.writeFrame(test::videoFrame(1040, false, 700, 40), out));
  TsReader r;
  r.feed(out.data(), out.size());
  r.finish();
  EXPECT_TRUE(r.errors.empty()) << r.errors.front();
  ASSERT_EQ(r.pes.size(), 2u);
  const auto& key = r.pes[0];
  EXPECT_EQ(key.pid, kVideoPid);
  EXPECT_EQ(key.streamId, 0xE0);
  EXPECT_EQ(key.lengthField, 0);  // unbounded video PES
  EXPECT_TRUE(key.randomAccess);
  EXPECT_TRUE(key.hasDts);
  EXPECT_EQ(key.dts, tsTime90k(1000));
  EXPECT_EQ(key.pts, tsTime90k(1080));
  // AUD, SPS, PPS, then the IDR slice, each after a 4-byte start code.
  const auto& es = key.payload;
  ASSERT_GT(es.size(), 12u);
  EXPECT_EQ(std::vector<uint8_t>(es.begin(), es.begin() + 6),
            (std::vector<uint8_t>{0, 0, 0, 1, 0x09, 0xF0}));
  EXPECT_EQ(es[10], 0x67);
  size_t ppsAt = 6 + 4 + test::kH264HighSps.size() + 4;
  EXPECT_EQ(es[ppsAt], 0x68);
  size_t idrAt = ppsAt + test::kH264HighPps.size() + 4;
  EXPECT_EQ(es[idrAt], 0x65);
  EXPECT_EQ(es.size(), idrAt + 5000);
  // The second frame: AUD and slice only, no parameter sets, not a random access point.
  EXPECT_FALSE(r.pes[1].randomAccess);
  EXPECT_EQ(r.pes[1].payload[10], 0x41);
  // PCR on the video PID, kPcrLead before the DTS.
  ASSERT_EQ(r.pcrs.size(), 2u);
  EXPECT_EQ(r.pcrs[0].first, kVideoPid);
  EXPECT_EQ(r.pcrs[0].second, tsTime90k(1000) - kPcrLead);
}

TEST(TsMuxer, AudioPesIsAdtsWithBoundedLength) {
  TsMuxer m;
  ASSERT_TRUE(m.setMediaInfo(*test::h264AacInfo()));
  BufferWriter out;
  ASSERT_TRUE(m.writeFrame(test::audioFrame(500, 371), out));
  TsReader r;
  r.feed(out.data(), out.size());
  r.finish();
  EXPECT_TRUE(r.errors.empty()) << r.errors.front();
  ASSERT_EQ(r.pes.size(), 1u);
  const auto& a = r.pes[0];
  EXPECT_EQ(a.pid, kAudioPid);
  EXPECT_EQ(a.streamId, 0xC0);
  EXPECT_FALSE(a.hasDts);
  EXPECT_EQ(a.pts, tsTime90k(500));
  EXPECT_EQ(a.lengthField, 3 + 5 + 7 + 371);
  auto h = aac::parseAdts(a.payload);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->frameLength, 7u + 371u);
  EXPECT_EQ(h->sampleRate, 44100);
  EXPECT_EQ(h->channelConfig, 2);
  EXPECT_TRUE(r.pcrs.empty());  // PCR travels on the video PID
}

TEST(TsMuxer, StuffingFillsEveryPacketSize) {
  // Sizes around packet boundaries: 1 and 2 bytes of stuffing are the edge cases of 2.4.3.4.
  for (size_t size = 150; size < 560; ++size) {
    TsMuxer m;
    ASSERT_TRUE(m.setMediaInfo(*test::h264AacInfo()));
    BufferWriter out;
    ASSERT_TRUE(m.writeFrame(test::audioFrame(0, size), out));
    ASSERT_EQ(out.size() % kTsPacketSize, 0u);
    TsReader r;
    r.feed(out.data(), out.size());
    r.finish();
    ASSERT_TRUE(r.errors.empty()) << size << ": " << r.errors.front();
    ASSERT_EQ(r.pes.size(), 1u);
    ASSERT_EQ(r.pes[0].payload.size(), 7 + size) << size;
  }
}

TEST(TsMuxer, ContinuityCountersRunAcrossSegments) {
  TsMuxer m;
  ASSERT_TRUE(m.setMediaInfo(*test::h264AacInfo()));
  BufferWriter out;
  for (int seg = 0; seg < 3; ++seg) {
    m.writeTables(out);
    for (int i = 0; i < 30; ++i) {
      ASSERT_TRUE(m.writeFrame(test::videoFrame(seg * 1200 + i * 40, i == 0, 3000 + i * 13), out));
      ASSERT_TRUE(m.writeFrame(test::audioFrame(seg * 1200 + i * 40), out));
    }
  }
  TsReader r;
  r.feed(out.data(), out.size());
  r.finish();
  EXPECT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_EQ(r.pes.size(), 180u);
  EXPECT_GT(r.stuffingBytes, 0u);
}

TEST(TsMuxer, TimestampsWrapAt33Bits) {
  int64_t ms = ((int64_t{1} << 33) / 90) + 5000;
  EXPECT_LT(tsTime90k(ms), uint64_t{1} << 33);
}

TEST(TsMuxer, MalformedAccessUnitIsAnErrorNotACrash) {
  TsMuxer m;
  ASSERT_TRUE(m.setMediaInfo(*test::h264AacInfo()));
  Frame f = test::videoFrame(0, true);
  uint8_t bad[] = {0, 0, 0x10, 0, 0x65, 1, 2};
  f.data = BufferRef::copyOf(bad, sizeof bad);
  BufferWriter out;
  EXPECT_FALSE(m.writeFrame(f, out));
}

TEST(TsMuxer, BadConfigLeavesTrackOut) {
  MediaInfo info = *test::h264AacInfo();
  uint8_t junk[] = {7, 7, 7};
  info.video->config = BufferRef::copyOf(junk, 3);
  TsMuxer m;
  EXPECT_FALSE(m.setMediaInfo(info));
  EXPECT_FALSE(m.hasVideo());
  EXPECT_TRUE(m.hasAudio());
}

}  // namespace
}  // namespace xl::hls
