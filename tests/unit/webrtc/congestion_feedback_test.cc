// REMB and transport-wide congestion control feedback (rtcp_feedback.h), and what a viewer does
// with it and with keyframe requests (congestion_control.h).
#include <gtest/gtest.h>

#include <vector>

#include "rtcp_packets.h"
#include "webrtc/congestion_control.h"
#include "webrtc/rtcp_feedback.h"

namespace xl::webrtc {
namespace {

using test::fb;
using test::put16;
using test::put32;

std::vector<uint8_t> remb(uint8_t exp, uint32_t mantissa, std::vector<uint32_t> ssrcs) {
  std::vector<uint8_t> fci = {'R',
                              'E',
                              'M',
                              'B',
                              static_cast<uint8_t>(ssrcs.size()),
                              static_cast<uint8_t>(exp << 2 | (mantissa >> 16 & 3)),
                              static_cast<uint8_t>(mantissa >> 8),
                              static_cast<uint8_t>(mantissa)};
  for (uint32_t s : ssrcs) put32(fci, s);
  return fb(15, 206, 0, fci);
}

TEST(CongestionFeedback, RembBitrateIsMantissaShiftedByExponent) {
  Feedback f;
  // 1.5 Mbit/s = 187500 << 3; mantissa must fit 18 bits (max 262143).
  ASSERT_TRUE(readFeedback(remb(3, 187500, {0x11223344}), f));
  EXPECT_TRUE(f.haveRemb);
  EXPECT_EQ(f.rembBps, 1500000u);
  EXPECT_TRUE(f.keyframeSsrcs.empty());

  Feedback g;
  ASSERT_TRUE(readFeedback(remb(0, 300000 & 0x3FFFF, {}), g));
  EXPECT_EQ(g.rembBps, 300000u & 0x3FFFFu);
}

TEST(CongestionFeedback, RembMalformedIsReported) {
  auto p = remb(1, 1000, {1, 2});
  p[12 + 4] = 5;  // claims 5 SSRCs, carries 2
  Feedback f;
  auto s = readFeedback(p, f);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("REMB"), std::string::npos);
  EXPECT_FALSE(f.haveRemb);
}

TEST(CongestionFeedback, PsfbFmt15WithoutRembIdentifierIsSkipped) {
  auto p = remb(1, 1000, {});
  p[12] = 'X';  // some other application layer feedback
  Feedback f;
  ASSERT_TRUE(readFeedback(p, f));
  EXPECT_FALSE(f.haveRemb);
}

// Transport-wide feedback FCI: base seq, status count, reference time (24) + fb count (8).
std::vector<uint8_t> twccHead(uint16_t base, uint16_t count) {
  std::vector<uint8_t> fci;
  put16(fci, base);
  put16(fci, count);
  put32(fci, 0x00001205);
  return fci;
}

TEST(CongestionFeedback, TwccRunLengthAndStatusVectors) {
  auto fci = twccHead(100, 4 + 14 + 7);
  put16(fci, 0x2000 | 4);       // run of 4 "received, small delta"
  put16(fci, 0x8000 | 0x2AAA);  // 14 one-bit symbols 01010101010101: 7 received, 7 lost
  // 7 two-bit symbols: 1, 2, 0, 0, 1, 0, 0 -> 3 received (deltas 1 + 2 + 1 bytes), 4 lost.
  put16(fci, static_cast<uint16_t>(0xC000 | 1 << 12 | 2 << 10 | 1 << 4));
  // Deltas: 4 + 7 small (1 byte each) and 1 + 2 + 1 bytes: 15 bytes.
  for (int i = 0; i < 15; ++i) fci.push_back(4);
  Feedback f;
  auto s = readFeedback(fb(15, 205, 0x55, fci), f);
  ASSERT_TRUE(s) << s.message();
  EXPECT_EQ(f.twccReports, 1u);
  EXPECT_EQ(f.twccReceived, 4u + 7u + 3u);
  EXPECT_EQ(f.twccLost, 7u + 4u);
}

TEST(CongestionFeedback, TwccTruncatedDeltasAndChunksAreReported) {
  auto fci = twccHead(1, 300);
  put16(fci, 0x2000 | 300);  // 300 received: 300 delta bytes that are not there
  Feedback f;
  auto s = readFeedback(fb(15, 205, 1, fci), f);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("deltas"), std::string::npos);

  auto short_chunks = twccHead(1, 40);
  put16(short_chunks, 0x0000 | 10);  // 10 lost, twice, then nothing for the other 20
  put16(short_chunks, 0x0000 | 10);
  Feedback g;
  s = readFeedback(fb(15, 205, 1, short_chunks), g);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("chunks"), std::string::npos);

  auto reserved = twccHead(1, 3);
  put16(reserved, 0x6000 | 3);  // run of the reserved symbol 3
  Feedback h;
  EXPECT_FALSE(readFeedback(fb(15, 205, 1, reserved), h));
}

TEST(CongestionFeedback, TwccAllLostNeedsNoDeltas) {
  auto fci = twccHead(7, 20);
  put16(fci, 20);  // run of 20 "not received"
  Feedback f;
  ASSERT_TRUE(readFeedback(fb(15, 205, 1, fci), f));
  EXPECT_EQ(f.twccLost, 20u);
  EXPECT_EQ(f.twccReceived, 0u);
}

TEST(CongestionFeedback, ClearResetsEverything) {
  Feedback f;
  ASSERT_TRUE(readFeedback(remb(3, 1000, {}), f));
  f.nacked.push_back(1);
  f.clear();
  EXPECT_FALSE(f.haveRemb);
  EXPECT_EQ(f.rembBps, 0u);
  EXPECT_TRUE(f.nacked.empty());
}

// Frames of GOPs of 5 (one key, four not) through admit(): how many were sent.
int sendGop(ViewerCongestion& c, uint64_t now) {
  int sent = 0;
  for (int i = 0; i < 5; ++i) sent += c.admit(i == 0, now);
  return sent;
}

TEST(ViewerCongestion, EstimateBelowBitrateSkipsNonKeyFramesAndProbesEveryOtherGop) {
  ViewerCongestion c;
  c.start(0);
  c.setStreamBitrate(2'000'000);
  uint64_t now = ViewerCongestion::kSettleMs + 100;
  EXPECT_EQ(sendGop(c, now), 5);  // no estimate yet
  c.onEstimate(500'000, now);
  EXPECT_TRUE(c.congested()) << "a low estimate takes effect mid-GOP";
  EXPECT_EQ(sendGop(c, now), 5) << "the GOP after a skipping one is sent whole (probe)";
  EXPECT_EQ(sendGop(c, now), 1) << "then only the keyframe";
  EXPECT_EQ(sendGop(c, now), 5);
  EXPECT_EQ(c.skipped(), 4u);
  c.onEstimate(3'000'000, now);
  EXPECT_EQ(sendGop(c, now), 5);
  EXPECT_EQ(sendGop(c, now), 5);
  EXPECT_FALSE(c.congested());
}

TEST(ViewerCongestion, MidGopDropStopsTheRestOfTheGop) {
  ViewerCongestion c;
  c.start(0);
  c.setStreamBitrate(1'000'000);
  const uint64_t now = 10'000;
  EXPECT_TRUE(c.admit(true, now));
  EXPECT_TRUE(c.admit(false, now));
  c.onEstimate(200'000, now);
  EXPECT_FALSE(c.admit(false, now));
  EXPECT_FALSE(c.admit(false, now));
  EXPECT_EQ(c.skipped(), 2u);
}

TEST(ViewerCongestion, EarlyStaleOrUnknownEstimatesAreIgnored) {
  ViewerCongestion c;
  c.start(1000);
  c.setStreamBitrate(2'000'000);
  c.onEstimate(100'000, 1500);  // within the settling time
  EXPECT_EQ(sendGop(c, 1500), 5);
  EXPECT_EQ(sendGop(c, 1500 + ViewerCongestion::kSettleMs), 1) << "settled: now it counts";
  EXPECT_EQ(sendGop(c, 1500 + ViewerCongestion::kSettleMs), 5);
  EXPECT_EQ(sendGop(c, 1500 + ViewerCongestion::kStaleMs + 1), 5) << "stale estimate";
  EXPECT_EQ(sendGop(c, 1500 + ViewerCongestion::kStaleMs + 1), 5);
  ViewerCongestion unknown;
  unknown.onEstimate(1, 10'000);
  EXPECT_EQ(sendGop(unknown, 10'000), 5) << "stream bitrate unknown: never congested";
}

TEST(ViewerCongestion, KeyframeRequestsRestartAtMostOncePerInterval) {
  ViewerCongestion c;
  EXPECT_TRUE(c.onKeyframeRequest(0));
  EXPECT_FALSE(c.onKeyframeRequest(10));
  EXPECT_FALSE(c.onKeyframeRequest(ViewerCongestion::kRestartIntervalMs - 1));
  EXPECT_TRUE(c.onKeyframeRequest(ViewerCongestion::kRestartIntervalMs));
  EXPECT_EQ(c.restarts(), 2u);
  EXPECT_EQ(c.keyframeRequests(), 4u);
}

// A receiver report (RFC 3550 §6.4.2) with one block: SSRC, fraction lost, cumulative lost
// (24 bits), extended highest sequence, jitter, LSR, DLSR; followed by a PLI in the compound.
std::vector<uint8_t> receiverReport(uint32_t ssrc, uint8_t fraction, int32_t lost, uint32_t jitter,
                                    uint32_t lsr, uint32_t dlsr) {
  std::vector<uint8_t> p = {0x81, 201, 0, 7};
  put32(p, 0xAABBCCDD);
  put32(p, ssrc);
  p.push_back(fraction);
  const uint32_t l = static_cast<uint32_t>(lost) & 0xFFFFFF;
  p.push_back(static_cast<uint8_t>(l >> 16));
  put16(p, static_cast<uint16_t>(l));
  put32(p, 0x0001FFFF);
  put32(p, jitter);
  put32(p, lsr);
  put32(p, dlsr);
  return p;
}

TEST(ReceiverReports, BlocksAreReadFromTheCompoundAlongWithFeedback) {
  auto p = receiverReport(0x1234, 64, -3, 900, 0x00010002, 0x8000);
  auto pli = fb(1, 206, 0x1234, {});
  p.insert(p.end(), pli.begin(), pli.end());
  Feedback f;
  ASSERT_TRUE(readFeedback(p, f));
  ASSERT_EQ(f.reports.size(), 1u);
  EXPECT_EQ(f.reports[0].ssrc, 0x1234u);
  EXPECT_EQ(f.reports[0].fractionLost, 64);
  EXPECT_EQ(f.reports[0].cumulativeLost, -3);
  EXPECT_EQ(f.reports[0].highestSeq, 0x0001FFFFu);
  EXPECT_EQ(f.reports[0].jitter, 900u);
  EXPECT_EQ(f.reports[0].lastSr, 0x00010002u);
  EXPECT_EQ(f.reports[0].delaySinceLastSr, 0x8000u);
  ASSERT_EQ(f.keyframeSsrcs.size(), 1u) << "the PLI after the report is read too";
}

TEST(ReceiverReports, ABlockCountPastThePacketIsReported) {
  auto p = receiverReport(1, 0, 0, 0, 0, 0);
  p[0] = 0x82;  // claims two blocks, carries one
  Feedback f;
  auto s = readFeedback(p, f);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("report blocks"), std::string::npos);
}

TEST(ViewerCongestion, ReportsGiveLossJitterAndTheRoundTrip) {
  ViewerCongestion c;
  c.onSenderReportSent(0x11110000, 1000);
  c.onSenderReportSent(0x22220000, 2000);
  rtp::ReportBlock b;
  b.fractionLost = 128;
  b.cumulativeLost = 7;
  b.jitter = 900;  // 10 ms at 90 kHz
  b.lastSr = 0x22220000;
  b.delaySinceLastSr = 65536 / 2;  // held 500 ms
  c.onReport(0, b, 90000, 2600);
  const LinkQuality& q = c.link(0);
  EXPECT_DOUBLE_EQ(q.fractionLost, 0.5);
  EXPECT_EQ(q.cumulativeLost, 7);
  EXPECT_DOUBLE_EQ(q.jitterMs, 10.0);
  EXPECT_DOUBLE_EQ(q.rttMs, 100.0) << "2600 - 2000 - 500";
  b.lastSr = 0x33330000;  // a sender report we do not remember: the round trip stays
  c.onReport(0, b, 90000, 5000);
  EXPECT_DOUBLE_EQ(c.link(0).rttMs, 100.0);
  EXPECT_EQ(c.link(0).reports, 2u);
  EXPECT_EQ(c.link(1).reports, 0u);

  std::vector<std::pair<std::string, double>> out;
  c.describe(out);
  auto find = [&](const std::string& k) {
    for (auto& [key, v] : out)
      if (key == k) return v;
    return -1.0;
  };
  EXPECT_DOUBLE_EQ(find("video_rtt_ms"), 100.0);
  EXPECT_DOUBLE_EQ(find("video_jitter_ms"), 10.0);
  EXPECT_DOUBLE_EQ(find("receiver_reports"), 2.0);
  EXPECT_DOUBLE_EQ(find("audio_jitter_ms"), -1.0) << "no audio reports: no audio figures";

  FeedbackCounters totals;
  c.onKeyframeRequest(0);
  c.publish(totals);
  c.publish(totals);  // nothing new: nothing added
  EXPECT_EQ(totals.receiverReports.load(), 2u);
  EXPECT_EQ(totals.keyframeRequests.load(), 1u);
  EXPECT_EQ(totals.restarts.load(), 1u);
  EXPECT_NE(totals.metricsText().find("xueliang_webrtc_keyframe_restarts_total 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace xl::webrtc
