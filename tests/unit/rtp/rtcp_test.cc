#include "rtp/rtcp.h"

#include <gtest/gtest.h>

namespace xl::rtp {
namespace {

TEST(Rtcp, SenderReportRoundTripInCompound) {
  SenderReport sr;
  sr.ssrc = 0x11223344;
  sr.ntp = 0xe1b2c3d4a5a6a7a8ull;
  sr.rtpTimestamp = 90000;
  sr.packetCount = 10;
  sr.octetCount = 12345;
  sr.reports.push_back({0x55667788, 12, -3, 70000, 40, 0xabcd, 0x10});
  BufferWriter w;
  writeSenderReport(w, sr);
  writeSdesCname(w, sr.ssrc, "xueliang");
  writeBye(w, sr.ssrc);
  BufferRef b = w.freeze();
  EXPECT_EQ(b.size() % 4, 0u);
  std::vector<uint8_t> types;
  SenderReport got;
  ASSERT_TRUE(forEachRtcp(b.span(), [&](const RtcpHeader& h) {
    types.push_back(h.type);
    if (h.type == kRtcpSr) got = *parseSenderReport(h.packet);
    return true;
  }));
  EXPECT_EQ(types, (std::vector<uint8_t>{kRtcpSr, kRtcpSdes, kRtcpBye}));
  EXPECT_EQ(got.ssrc, sr.ssrc);
  EXPECT_EQ(got.ntp, sr.ntp);
  EXPECT_EQ(got.rtpTimestamp, sr.rtpTimestamp);
  EXPECT_EQ(got.packetCount, 10u);
  EXPECT_EQ(got.octetCount, 12345u);
  ASSERT_EQ(got.reports.size(), 1u);
  EXPECT_EQ(got.reports[0].cumulativeLost, -3);
  EXPECT_EQ(got.reports[0].highestSeq, 70000u);
  EXPECT_EQ(got.reports[0].lastSr, 0xabcdu);
}

TEST(Rtcp, ReceiverReport) {
  ReceiverReport rr{7, {{1, 0, 5, 100, 0, 0, 0}, {2, 255, 0, 200, 1, 2, 3}}};
  BufferWriter w;
  writeReceiverReport(w, rr);
  BufferRef b = w.freeze();
  auto got = parseReceiverReport(b.span());
  ASSERT_TRUE(got) << got.message();
  EXPECT_EQ(got->ssrc, 7u);
  ASSERT_EQ(got->reports.size(), 2u);
  EXPECT_EQ(got->reports[1].fractionLost, 255);
  EXPECT_EQ(got->reports[1].delaySinceLastSr, 3u);
}

TEST(Rtcp, RejectsMalformed) {
  std::vector<uint8_t> bad = {0x80, 200, 0, 50, 0, 0, 0, 0};  // length past the end
  EXPECT_FALSE(forEachRtcp(bad, [](const RtcpHeader&) { return true; }));
  std::vector<uint8_t> shortSr = {0x81, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                                  0,    0,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_FALSE(parseSenderReport(shortSr));  // announces a report block it lacks
  EXPECT_FALSE(parseReceiverReport(std::vector<uint8_t>{0x80, 201, 0}));
}

TEST(Rtcp, NtpFromUnixTime) {
  uint64_t ntp = ntpFromUnixMicros(1500000);  // 1.5 s after the Unix epoch
  EXPECT_EQ(ntp >> 32, 2208988801ull);
  EXPECT_EQ(uint32_t(ntp), 0x80000000u);
  EXPECT_EQ(ntpMiddle(ntp), uint32_t((ntp >> 16) & 0xffffffff));
}

}  // namespace
}  // namespace xl::rtp
