// The OpenSSL RTP sender against libsrtp2: byte-identical output for the same input, and
// libsrtp2 (an independent implementation) unprotects what it sends, across a sequence number
// wrap, with CSRCs, header extensions and varied sizes, in place and out of place with a WHEP
// viewer's header rewrite. Tampered packets fail libsrtp2's check.
#include "webrtc/srtp_rtp_sender.h"

#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <vector>

#include "rtp/rtp_packet.h"
#include "webrtc/srtp.h"
#include "webrtc/srtp_libsrtp.h"

namespace xl::webrtc {
namespace {

// OpenSSL's allocations, counted through CRYPTO_set_mem_functions, which works only before
// OpenSSL's first allocation (hence NoAllocationPerPacket is the first test of the program).
std::atomic<long> gAllocations{0};
void* countedMalloc(size_t n, const char*, int) {
  ++gAllocations;
  return std::malloc(n);
}
void* countedRealloc(void* p, size_t n, const char*, int) {
  ++gAllocations;
  return std::realloc(p, n);
}
void countedFree(void* p, const char*, int) {
  std::free(p);
}

std::vector<uint8_t> masterKey(SrtpProfile p) {
  std::vector<uint8_t> k(srtpKeyAndSaltSize(p));
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(0x3d * i + 11);
  return k;
}

// An RTP packet with `csrcs` CSRCs, an RFC 8285 one-byte extension block of `extWords` words
// when extWords > 0, and `payload` pseudo-random bytes; kSrtpMaxTrailer spare bytes after it.
struct Packet {
  std::vector<uint8_t> bytes;
  size_t len = 0;
};
Packet makePacket(std::mt19937& rng, uint32_t ssrc, uint16_t seq, int csrcs, int extWords,
                  size_t payload) {
  Packet p;
  p.bytes.resize(12 + 4 * csrcs + (extWords ? 4 + 4 * extWords : 0) + payload + kSrtpMaxTrailer);
  rtp::writeRtpHeader(p.bytes.data(), seq % 7 == 0, 102, seq, rng(), ssrc);
  p.bytes[0] = static_cast<uint8_t>(0x80 | (extWords ? 0x10 : 0) | csrcs);
  size_t at = 12;
  for (int i = 0; i < csrcs; ++i, at += 4) rtp::putBe32(&p.bytes[at], rng());
  if (extWords) {
    rtp::putBe16(&p.bytes[at], 0xbede);
    rtp::putBe16(&p.bytes[at + 2], static_cast<uint16_t>(extWords));
    at += 4;
    for (int i = 0; i < 4 * extWords; ++i) p.bytes[at++] = static_cast<uint8_t>(rng());
  }
  for (size_t i = 0; i < payload; ++i) p.bytes[at++] = static_cast<uint8_t>(rng());
  p.len = at;
  return p;
}

size_t tagSize(SrtpProfile p) {
  return p == SrtpProfile::kAeadAes128Gcm ? 16 : 10;
}

TEST(SrtpRtpSender, NoAllocationPerPacket) {
  if (!CRYPTO_set_mem_functions(countedMalloc, countedRealloc, countedFree))
    GTEST_SKIP() << "OpenSSL allocated before this test; run it first, alone";
  std::mt19937 rng(9);
  for (SrtpProfile profile : {SrtpProfile::kAeadAes128Gcm, SrtpProfile::kAes128CmSha1_80}) {
    auto s = SrtpRtpSender::create(profile, masterKey(profile));
    ASSERT_TRUE(s);
    Packet p = makePacket(rng, 0x1234, 0, 1, 1, 1188);
    ASSERT_TRUE((*s)->protect(p.bytes.data(), p.len));  // the SSRC's first packet
    const long before = gAllocations;
    for (uint16_t seq = 1; seq < 2000; ++seq) {
      rtp::putBe16(&p.bytes[2], seq);
      ASSERT_TRUE((*s)->protect(p.bytes.data(), p.len));
    }
    EXPECT_EQ(gAllocations - before, 0) << "OpenSSL allocations in 1999 packets";
    // Out of place, as WHEP viewers send: none either.
    std::vector<uint8_t> out(p.len + kSrtpMaxTrailer);
    const long before2 = gAllocations;
    for (uint16_t seq = 1; seq < 2000; ++seq) {
      const RtpRewrite rw{96, seq, 0x5678};
      ASSERT_TRUE((*s)->protect(p.bytes.data(), p.len, out.data(), &rw));
    }
    EXPECT_EQ(gAllocations - before2, 0) << "OpenSSL allocations in 1999 packets out of place";
  }
}

class SrtpRtpSenderVsLibsrtp : public ::testing::TestWithParam<SrtpProfile> {};

TEST_P(SrtpRtpSenderVsLibsrtp, ByteIdenticalAndDecryptableAcrossTheWrap) {
  const SrtpProfile profile = GetParam();
  const auto key = masterKey(profile);
  auto ours = SrtpRtpSender::create(profile, key);
  ASSERT_TRUE(ours) << ours.message();
  auto ref = LibSrtpSession::create(profile, key, true);
  ASSERT_TRUE(ref) << ref.message();
  auto rx = LibSrtpSession::create(profile, key, false);
  ASSERT_TRUE(rx) << rx.message();
  std::mt19937 rng(7);
  // Three SSRCs (video, audio, another video) interleaved; video starts close to the wrap, so
  // its ROC becomes 1; audio skips 25 numbers a packet (losses) and wraps too; the third
  // SSRC wraps at its second packet.
  const uint32_t ssrcs[3] = {0x11223344, 0x55667788, 0x99aabbcc};
  uint16_t seqs[3] = {64000, 100, 65535};
  std::vector<Packet> sent;  // our protected packets, to resend as retransmissions
  std::vector<Packet> plain;
  size_t afterWrap = 0;
  for (int i = 0; i < 9000; ++i) {
    const int k = i % 3;
    const uint16_t seq = k == 1 ? static_cast<uint16_t>(seqs[k] + 25 * (i / 3)) : seqs[k]++;
    const size_t payload = (i * 37) % 1300 + (i % 11 == 0 ? 0 : 1);  // 0 .. 1300 bytes
    Packet in = makePacket(rng, ssrcs[k], seq, i % 4 == 0 ? (i / 4) % 16 : 0,
                           i % 5 == 0 ? (i / 5) % 6 : 0, payload);
    Packet a = in, b = in;
    auto n = (*ours)->protect(a.bytes.data(), a.len);
    ASSERT_TRUE(n) << n.message();
    auto m = (*ref)->protectRtp(b.bytes.data(), b.len);
    ASSERT_TRUE(m) << m.message();
    ASSERT_EQ(*n, in.len + tagSize(profile));
    ASSERT_EQ(*n, *m);
    ASSERT_EQ(a.bytes, b.bytes) << "packet " << i << " ssrc " << ssrcs[k] << " seq " << seq;
    if (payload >= 16) {  // the payload is encrypted
      ASSERT_NE(std::vector<uint8_t>(a.bytes.begin(), a.bytes.begin() + in.len),
                std::vector<uint8_t>(in.bytes.begin(), in.bytes.begin() + in.len));
    }
    Packet c = a;
    auto u = (*rx)->unprotectRtp(c.bytes.data(), *n);
    ASSERT_TRUE(u) << "packet " << i << ": " << u.message();
    ASSERT_EQ(*u, in.len);
    ASSERT_TRUE(std::equal(in.bytes.begin(), in.bytes.begin() + in.len, c.bytes.begin()));
    if (k == 0 && seq < 1000) ++afterWrap;
    a.len = *n;
    sent.push_back(std::move(a));
    plain.push_back(std::move(in));
  }
  EXPECT_GT(afterWrap, 900u);
  // Retransmissions (NACK) of packets from before and after the wrap: the same bytes again.
  for (size_t i : {sent.size() - 3, sent.size() - 300, sent.size() - 4500}) {
    Packet again = plain[i];
    auto n = (*ours)->protect(again.bytes.data(), again.len);
    ASSERT_TRUE(n) << n.message();
    ASSERT_EQ(*n, sent[i].len);
    EXPECT_TRUE(std::equal(sent[i].bytes.begin(), sent[i].bytes.begin() + *n, again.bytes.begin()))
        << "retransmission of packet " << i;
  }
  // The ROC really is 1 after the wrap: a receiver that never saw the wrap (ROC 0) rejects the
  // last video packet, which the receiver that followed the stream accepted above.
  auto fresh = LibSrtpSession::create(profile, key, false);
  ASSERT_TRUE(fresh);
  Packet last = sent[sent.size() - 3];
  ASSERT_EQ(rtp::be32(&last.bytes[8]), ssrcs[0]);
  ASSERT_LT(rtp::be16(&last.bytes[2]), 5000);
  EXPECT_FALSE((*fresh)->unprotectRtp(last.bytes.data(), last.len));
}

TEST_P(SrtpRtpSenderVsLibsrtp, TamperedPacketsFailLibsrtpUnprotect) {
  const SrtpProfile profile = GetParam();
  const auto key = masterKey(profile);
  auto ours = SrtpRtpSender::create(profile, key);
  ASSERT_TRUE(ours);
  std::mt19937 rng(3);
  for (int where = 0; where < 4; ++where) {  // header, extension, payload, tag
    auto rx = LibSrtpSession::create(profile, key, false);
    ASSERT_TRUE(rx);
    Packet p = makePacket(rng, 0xdecafbad, static_cast<uint16_t>(1000 + where), 2, 2, 500);
    auto n = (*ours)->protect(p.bytes.data(), p.len);
    ASSERT_TRUE(n);
    const size_t at[4] = {1, 12 + 8 + 6, p.len - 100, *n - 1};
    Packet t = p;
    t.bytes[at[where]] ^= 0x04;
    EXPECT_FALSE((*rx)->unprotectRtp(t.bytes.data(), *n)) << "tampered at byte " << at[where];
    EXPECT_TRUE((*rx)->unprotectRtp(p.bytes.data(), *n)) << "the untouched packet";
  }
}

TEST_P(SrtpRtpSenderVsLibsrtp, SrtpSessionProtectsRtpWithTheSender) {
  const SrtpProfile profile = GetParam();
  const auto key = masterKey(profile);
  auto session = SrtpSession::create(profile, key, SrtpSession::Direction::kOutbound);
  ASSERT_TRUE(session);
  auto ours = SrtpRtpSender::create(profile, key);
  ASSERT_TRUE(ours);
  std::mt19937 rng(5);
  Packet a = makePacket(rng, 1, 2, 0, 0, 1188), b = a;
  auto n = (*session)->protectRtp(a.bytes.data(), a.len);
  auto m = (*ours)->protect(b.bytes.data(), b.len);
  ASSERT_TRUE(n && m);
  EXPECT_EQ(a.bytes, b.bytes);
  // Out of place through the session: the same as the sender's with the same rewrite.
  Packet c = makePacket(rng, 1, 3, 0, 0, 700), d = c;
  const RtpRewrite rw{111, 4000, 0x01020304};
  std::vector<uint8_t> out(c.len + kSrtpMaxTrailer);
  auto k = (*session)->protectRtp(c.bytes.data(), c.len, out.data(), rw);
  auto l = (*ours)->protect(d.bytes.data(), d.len, d.bytes.data(), &rw);
  ASSERT_TRUE(k && l);
  ASSERT_EQ(*k, *l);
  EXPECT_TRUE(std::equal(out.begin(), out.begin() + *k, d.bytes.begin()));
  auto in = SrtpSession::create(profile, key, SrtpSession::Direction::kInbound);
  ASSERT_TRUE(in);
  EXPECT_FALSE((*in)->protectRtp(b.bytes.data(), a.len));  // inbound sessions only unprotect
  EXPECT_FALSE((*in)->protectRtp(c.bytes.data(), c.len, out.data(), rw));
}

// The WHEP path: one shared packet (never written) protected out of place for many viewers,
// each with its own payload type, SSRC and sequence numbers, is byte for byte what libsrtp2 makes
// of a rewritten copy, and libsrtp2 unprotects it; across the viewers' sequence number wraps.
TEST_P(SrtpRtpSenderVsLibsrtp, OutOfPlaceRewriteMatchesLibsrtpAcrossTheWrap) {
  const SrtpProfile profile = GetParam();
  const auto key = masterKey(profile);
  constexpr int kViewers = 12;  // one SSRC each (video and audio: two per real session)
  auto ours = SrtpRtpSender::create(profile, key);
  ASSERT_TRUE(ours) << ours.message();
  auto ref = LibSrtpSession::create(profile, key, true);
  auto rx = LibSrtpSession::create(profile, key, false);
  ASSERT_TRUE(ref && rx);
  std::mt19937 rng(11);
  uint16_t seqs[kViewers];
  for (int v = 0; v < kViewers; ++v) seqs[v] = static_cast<uint16_t>(65536 - 300 + 17 * v);
  size_t wraps = 0;
  for (int i = 0; i < 400; ++i) {
    // The stream's packet: its own SSRC, payload type and numbering, CSRCs and extensions now
    // and then, sizes from 0 to 1300 bytes of payload.
    const Packet shared = makePacket(rng, 0xabcdef01, static_cast<uint16_t>(7 * i),
                                     i % 9 == 0 ? 2 : 0, i % 13 == 0 ? 3 : 0, (i * 53) % 1301);
    const std::vector<uint8_t> pristine = shared.bytes;
    for (int v = 0; v < kViewers; ++v) {
      const RtpRewrite rw{static_cast<uint8_t>(96 + v), seqs[v]++, 0x10000000u + v};
      if (rw.seq == 0) ++wraps;
      std::vector<uint8_t> out(shared.len + kSrtpMaxTrailer, 0xee);
      auto n = (*ours)->protect(shared.bytes.data(), shared.len, out.data(), &rw);
      ASSERT_TRUE(n) << n.message();
      ASSERT_EQ(shared.bytes, pristine) << "the shared packet was written";
      Packet b = shared;  // the reference: a rewritten copy, protected in place by libsrtp2
      b.bytes[1] = static_cast<uint8_t>((b.bytes[1] & 0x80) | rw.payloadType);
      rtp::putBe16(&b.bytes[2], rw.seq);
      rtp::putBe32(&b.bytes[8], rw.ssrc);
      auto m = (*ref)->protectRtp(b.bytes.data(), b.len);
      ASSERT_TRUE(m) << m.message();
      ASSERT_EQ(*n, *m);
      ASSERT_TRUE(std::equal(out.begin(), out.begin() + *n, b.bytes.begin()))
          << "packet " << i << " viewer " << v << " seq " << rw.seq;
      auto u = (*rx)->unprotectRtp(out.data(), *n);
      ASSERT_TRUE(u) << "packet " << i << " viewer " << v << ": " << u.message();
      ASSERT_EQ(*u, shared.len);
      EXPECT_EQ(out[1] & 0x7f, rw.payloadType);
      EXPECT_EQ(rtp::be32(&out[8]), rw.ssrc);
      EXPECT_TRUE(std::equal(out.begin() + 12, out.begin() + *u, shared.bytes.begin() + 12));
    }
  }
  EXPECT_EQ(wraps, size_t(kViewers)) << "every viewer's sequence number wrapped once";
}

// In place and out of place give the same bytes (a retransmission may take either path).
TEST_P(SrtpRtpSenderVsLibsrtp, InPlaceAndOutOfPlaceAgree) {
  const SrtpProfile profile = GetParam();
  auto a = SrtpRtpSender::create(profile, masterKey(profile));
  auto b = SrtpRtpSender::create(profile, masterKey(profile));
  ASSERT_TRUE(a && b);
  std::mt19937 rng(13);
  for (uint16_t seq = 65000; seq != 100; ++seq) {
    Packet p = makePacket(rng, 0x77, seq, seq % 3, seq % 4, seq % 1250);
    std::vector<uint8_t> out(p.len + kSrtpMaxTrailer);
    auto m = (*b)->protect(p.bytes.data(), p.len, out.data());
    auto n = (*a)->protect(p.bytes.data(), p.len);
    ASSERT_TRUE(n && m);
    ASSERT_EQ(*n, *m);
    ASSERT_TRUE(std::equal(out.begin(), out.begin() + *m, p.bytes.begin())) << "seq " << seq;
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, SrtpRtpSenderVsLibsrtp,
                         ::testing::Values(SrtpProfile::kAes128CmSha1_80,
                                           SrtpProfile::kAeadAes128Gcm));

TEST(SrtpRtpSender, RejectsMalformedRtp) {
  auto s =
      SrtpRtpSender::create(SrtpProfile::kAeadAes128Gcm, masterKey(SrtpProfile::kAeadAes128Gcm));
  ASSERT_TRUE(s);
  uint8_t p[64 + kSrtpMaxTrailer] = {0x80, 96, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4};
  auto expectError = [&](size_t len, const char* what) {
    auto r = (*s)->protect(p, len);
    ASSERT_FALSE(r) << what;
    EXPECT_NE(r.message().find(what), std::string::npos) << r.message();
  };
  expectError(11, "shorter than an RTP header");
  p[0] = 0x40;
  expectError(20, "not RTP version 2");
  p[0] = 0x83;  // three CSRCs = 24 header bytes
  expectError(20, "RTP header past the packet end");
  p[0] = 0x90;  // extension with its length past the end
  expectError(14, "extension past the packet end");
  p[12] = 0xbe, p[13] = 0xde, p[14] = 0, p[15] = 9;
  expectError(40, "RTP header past the packet end");
  EXPECT_TRUE((*s)->protect(p, 52));  // 12 + 4 + 36: the header exactly, no payload
}

TEST(SrtpRtpSender, BoundsTheSsrcsOfOneSession) {
  auto s = SrtpRtpSender::create(SrtpProfile::kAes128CmSha1_80,
                                 masterKey(SrtpProfile::kAes128CmSha1_80));
  ASSERT_TRUE(s);
  uint8_t p[12 + kSrtpMaxTrailer] = {0x80, 96, 0, 1};
  for (uint32_t i = 0; i < SrtpRtpSender::kMaxSsrcs; ++i) {
    rtp::putBe32(p + 8, i);
    ASSERT_TRUE((*s)->protect(p, 12));
  }
  rtp::putBe32(p + 8, 0xffffffff);
  auto r = (*s)->protect(p, 12);
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("too many SSRCs"), std::string::npos) << r.message();
}

TEST(SrtpRtpSender, RejectsWrongKeys) {
  std::vector<uint8_t> k(30);
  auto s = SrtpRtpSender::create(SrtpProfile::kAeadAes128Gcm, k);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("28"), std::string::npos) << s.message();
  EXPECT_FALSE(SrtpRtpSender::create(SrtpProfile::kNone, k));
}

}  // namespace
}  // namespace xl::webrtc
