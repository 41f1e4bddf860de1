#include "webrtc/srtp.h"

#include <gtest/gtest.h>

#include <vector>

#include "rtp/rtp_packet.h"

namespace xl::webrtc {
namespace {

std::vector<uint8_t> keyFor(SrtpProfile p) {
  std::vector<uint8_t> k(p == SrtpProfile::kAeadAes128Gcm ? 28 : 30);
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(7 + i);
  return k;
}

std::vector<uint8_t> rtpPacket(uint16_t seq) {
  std::vector<uint8_t> p(12 + 200);
  rtp::writeRtpHeader(p.data(), true, 102, seq, 90000, 0x11223344);
  for (size_t i = 12; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i * 3);
  return p;
}

class SrtpRoundTrip : public ::testing::TestWithParam<SrtpProfile> {};

TEST_P(SrtpRoundTrip, ProtectUnprotect) {
  SrtpProfile profile = GetParam();
  auto key = keyFor(profile);
  auto tx = SrtpSession::create(profile, key, SrtpSession::Direction::kOutbound);
  ASSERT_TRUE(tx) << tx.message();
  auto rx = SrtpSession::create(profile, key, SrtpSession::Direction::kInbound);
  ASSERT_TRUE(rx) << rx.message();
  const size_t tag = profile == SrtpProfile::kAeadAes128Gcm ? 16 : 10;
  for (uint16_t seq = 65530; seq != 5; ++seq) {  // across the sequence number wrap
    auto plain = rtpPacket(seq);
    std::vector<uint8_t> buf(plain.size() + kSrtpMaxTrailer);
    std::copy(plain.begin(), plain.end(), buf.begin());
    auto n = (*tx)->protectRtp(buf.data(), plain.size());
    ASSERT_TRUE(n) << n.message();
    ASSERT_EQ(*n, plain.size() + tag);
    EXPECT_TRUE(std::equal(plain.begin(), plain.begin() + 12, buf.begin()));      // header clear
    EXPECT_FALSE(std::equal(plain.begin() + 12, plain.end(), buf.begin() + 12));  // encrypted
    auto m = (*rx)->unprotectRtp(buf.data(), *n);
    ASSERT_TRUE(m) << m.message();
    ASSERT_EQ(*m, plain.size());
    EXPECT_TRUE(std::equal(plain.begin(), plain.end(), buf.begin()));
  }
  // A tampered packet fails authentication.
  auto plain = rtpPacket(9);
  std::vector<uint8_t> buf(plain.size() + kSrtpMaxTrailer);
  std::copy(plain.begin(), plain.end(), buf.begin());
  auto n = (*tx)->protectRtp(buf.data(), plain.size());
  ASSERT_TRUE(n);
  buf[20] ^= 0x40;
  EXPECT_FALSE((*rx)->unprotectRtp(buf.data(), *n));

  // SRTCP: a receiver report.
  std::vector<uint8_t> rr = {0x80, 201, 0, 1, 0x11, 0x22, 0x33, 0x44};
  std::vector<uint8_t> rb(rr.size() + kSrtpMaxTrailer);
  std::copy(rr.begin(), rr.end(), rb.begin());
  auto rn = (*tx)->protectRtcp(rb.data(), rr.size());
  ASSERT_TRUE(rn) << rn.message();
  EXPECT_GT(*rn, rr.size());
  auto rm = (*rx)->unprotectRtcp(rb.data(), *rn);
  ASSERT_TRUE(rm) << rm.message();
  EXPECT_EQ(*rm, rr.size());
  EXPECT_TRUE(std::equal(rr.begin(), rr.end(), rb.begin()));
}

INSTANTIATE_TEST_SUITE_P(Profiles, SrtpRoundTrip,
                         ::testing::Values(SrtpProfile::kAes128CmSha1_80,
                                           SrtpProfile::kAeadAes128Gcm));

TEST(Srtp, RejectsWrongKeyLength) {
  std::vector<uint8_t> k(10);
  auto s = SrtpSession::create(SrtpProfile::kAeadAes128Gcm, k, SrtpSession::Direction::kOutbound);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("28"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace xl::webrtc
