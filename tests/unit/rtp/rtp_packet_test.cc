#include "rtp/rtp_packet.h"

#include <gtest/gtest.h>

#include <vector>

namespace xl::rtp {
namespace {

using V = std::vector<uint8_t>;

TEST(RtpPacket, WriteParseRoundTrip) {
  V p(kRtpHeaderSize);
  writeRtpHeader(p.data(), true, 96, 0xfffe, 0x12345678, 0xdeadbeef);
  p.insert(p.end(), {1, 2, 3});
  auto r = parseRtp(p);
  ASSERT_TRUE(r) << r.message();
  EXPECT_TRUE(r->marker);
  EXPECT_EQ(r->payloadType, 96);
  EXPECT_EQ(r->seq, 0xfffe);
  EXPECT_EQ(r->timestamp, 0x12345678u);
  EXPECT_EQ(r->ssrc, 0xdeadbeefu);
  EXPECT_EQ(V(r->payload.begin(), r->payload.end()), (V{1, 2, 3}));
}

TEST(RtpPacket, CsrcExtensionAndPadding) {
  // V=2 P=1 X=1 CC=1, M=0 PT=0, then CSRC, extension (profile 0xBEDE, 1 word), payload, padding.
  V p = {0xb1, 0x00, 0,    1, 0, 0,    0,    2, 0, 0, 0, 3, 9, 9, 9,
         9,    0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0, 7, 8, 0, 0, 3};
  auto r = parseRtp(p);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->csrcCount, 1);
  EXPECT_TRUE(r->hasExtension);
  EXPECT_EQ(r->extensionProfile, 0xbede);
  EXPECT_EQ(r->extension.size(), 4u);
  EXPECT_EQ(V(r->payload.begin(), r->payload.end()), (V{7, 8}));
}

TEST(RtpPacket, RejectsMalformed) {
  EXPECT_FALSE(parseRtp(V(11, 0x80)));                                           // short
  EXPECT_FALSE(parseRtp(V{0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));              // version 1
  EXPECT_FALSE(parseRtp(V{0x82, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2}));        // CSRCs cut
  EXPECT_FALSE(parseRtp(V{0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5}));  // ext cut
  EXPECT_FALSE(parseRtp(V{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 9}));  // padding > payload
  EXPECT_FALSE(parseRtp(V{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}));  // padding 0
}

TEST(RtpPacket, SequenceAndTimestampArithmetic) {
  EXPECT_EQ(seqDistance(2, 65535), 3);
  EXPECT_EQ(seqDistance(65535, 2), -3);
  TimestampUnwrapper u;
  EXPECT_EQ(u.unwrap(0xfffffff0u), 0xfffffff0ll);
  EXPECT_EQ(u.unwrap(0x10), 0x100000010ll);
  EXPECT_EQ(u.unwrap(0xfffffff8u), 0xfffffff8ll);  // reordered back across the wrap
}

TEST(RtpPacket, RtcpDemux) {
  EXPECT_TRUE(looksLikeRtcp(V{0x80, 200, 0, 6}));
  EXPECT_FALSE(looksLikeRtcp(V{0x80, 96, 0, 6}));
  EXPECT_FALSE(looksLikeRtcp(V{0x80}));
}

}  // namespace
}  // namespace xl::rtp
