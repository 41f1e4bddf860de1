#include "webrtc/rtcp_feedback.h"

#include <gtest/gtest.h>

#include <vector>

#include "rtcp_packets.h"

namespace xl::webrtc {
namespace {

using test::fb;
using test::put32;

TEST(RtcpFeedback, GenericNackPidAndBitmask) {
  // PID 65534, BLP bits 0 and 2: 65534, 65535, 1 (wrapping).
  auto p = fb(1, 205, 0xAABBCCDD, {0xFF, 0xFE, 0x00, 0x05});
  Feedback f;
  ASSERT_TRUE(readFeedback(p, f));
  EXPECT_EQ(f.nacked, (std::vector<uint16_t>{65534, 65535, 1}));
  EXPECT_EQ(f.nackSsrcs, (std::vector<uint32_t>{0xAABBCCDD, 0xAABBCCDD, 0xAABBCCDD}));
  EXPECT_TRUE(f.keyframeSsrcs.empty());
}

TEST(RtcpFeedback, PliAndFirInACompoundWithAReceiverReport) {
  std::vector<uint8_t> rr = {0x80, 201, 0, 1, 9, 9, 9, 9};
  auto pli = fb(1, 206, 777, {});
  std::vector<uint8_t> fir = fb(4, 206, 0, {});
  put32(fir, 888);         // FCI: SSRC
  put32(fir, 0x01000000);  // seq nr, reserved
  fir[3] = static_cast<uint8_t>(fir.size() / 4 - 1);
  std::vector<uint8_t> c = rr;
  c.insert(c.end(), pli.begin(), pli.end());
  c.insert(c.end(), fir.begin(), fir.end());
  Feedback f;
  ASSERT_TRUE(readFeedback(c, f));
  EXPECT_EQ(f.keyframeSsrcs, (std::vector<uint32_t>{777, 888}));
  EXPECT_TRUE(f.nacked.empty());
}

TEST(RtcpFeedback, BoundsAndMalformed) {
  // Every bit set in 10 entries would be 170 numbers: capped.
  std::vector<uint8_t> fci;
  for (int i = 0; i < 10; ++i) fci.insert(fci.end(), {0, static_cast<uint8_t>(i * 20), 0xFF, 0xFF});
  Feedback f;
  ASSERT_TRUE(readFeedback(fb(1, 205, 1, fci), f, 40));
  EXPECT_EQ(f.nacked.size(), 40u);

  auto p = fb(1, 205, 1, {0, 1, 0, 0});
  p[3] = 9;  // length runs past the packet
  Feedback g;
  EXPECT_FALSE(readFeedback(p, g));
  std::vector<uint8_t> shortFb = {0x81, 205, 0, 1, 1, 2, 3, 4};  // no media SSRC
  EXPECT_FALSE(readFeedback(shortFb, g));
}

}  // namespace
}  // namespace xl::webrtc
