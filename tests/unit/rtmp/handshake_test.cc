#include "rtmp/handshake.h"

#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace xl::rtmp {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes toBytes(const BufferRef& b) {
  return {b.data(), b.data() + b.size()};
}

Bytes hmac(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  Bytes out(32);
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()), data.data(), data.size(), out.data(), &len);
  return out;
}

// Independent check of the digest scheme, written from the description rather than the code:
// the 4 bytes at the start of the digest block, summed mod 728, locate the digest after them.
size_t digestPos(const uint8_t* pkt, int schema) {
  size_t base = schema == 0 ? 772 : 8;
  return base + 4 + (pkt[base] + pkt[base + 1] + pkt[base + 2] + pkt[base + 3]) % 728;
}
bool digestValid(const uint8_t* pkt, int schema, std::span<const uint8_t> key) {
  size_t pos = digestPos(pkt, schema);
  Bytes msg(pkt, pkt + pos);
  msg.insert(msg.end(), pkt + pos + 32, pkt + 1536);
  return hmac(key, msg) == Bytes(pkt + pos, pkt + pos + 32);
}
// S2 (or C2) of the digest handshake: the last 32 bytes are keyed by HMAC(fullKey, peerDigest).
bool responseValid(const uint8_t* pkt, std::span<const uint8_t> fullKey,
                   std::span<const uint8_t> peerDigest) {
  Bytes k = hmac(fullKey, peerDigest);
  return hmac(k, std::span(pkt, 1504)) == Bytes(pkt + 1504, pkt + 1536);
}

TEST(Handshake, KeysAreTheGenuineAdobeKeys) {
  auto fp = flashPlayerKey(false);
  auto fms = flashServerKey(false);
  EXPECT_EQ(std::string(fp.begin(), fp.end()), "Genuine Adobe Flash Player 001");
  EXPECT_EQ(std::string(fms.begin(), fms.end()), "Genuine Adobe Flash Media Server 001");
  EXPECT_EQ(flashPlayerKey(true).size(), 62u);
  EXPECT_EQ(flashServerKey(true).size(), 68u);
  EXPECT_EQ(flashServerKey(true)[36], 0xF0);
  EXPECT_EQ(flashServerKey(true)[67], 0xAE);
}

TEST(Handshake, SimpleEchoes) {
  HandshakeClient client(false);
  HandshakeServer server;
  Bytes c0c1 = toBytes(client.start());
  ASSERT_EQ(c0c1.size(), 1537u);
  EXPECT_EQ(c0c1[0], 3);
  EXPECT_EQ(Bytes(c0c1.begin() + 5, c0c1.begin() + 9), Bytes(4, 0));  // zero field

  auto s = server.feed(c0c1);
  ASSERT_TRUE(s) << s.message();
  EXPECT_EQ(s->consumed, 1537u);
  EXPECT_FALSE(s->done);
  EXPECT_FALSE(server.usedDigest());
  Bytes s012 = toBytes(s->send);
  ASSERT_EQ(s012.size(), 1u + 2 * 1536);
  EXPECT_EQ(s012[0], 3);
  // §5.2.4: S2 echoes C1.
  EXPECT_EQ(Bytes(s012.begin() + 1537, s012.end()), Bytes(c0c1.begin() + 1, c0c1.end()));

  auto c = client.feed(s012);
  ASSERT_TRUE(c) << c.message();
  EXPECT_TRUE(c->done);
  EXPECT_FALSE(client.serverUsedDigest());
  Bytes c2 = toBytes(c->send);
  EXPECT_EQ(c2, Bytes(s012.begin() + 1, s012.begin() + 1537));  // C2 echoes S1

  auto done = server.feed(c2);
  ASSERT_TRUE(done);
  EXPECT_TRUE(done->done);
  EXPECT_TRUE(server.done());
  EXPECT_FALSE(done->send);
}

TEST(Handshake, DigestServerSignsS1AndS2) {
  HandshakeClient client(true);
  HandshakeServer server;
  Bytes c0c1 = toBytes(client.start());
  ASSERT_TRUE(digestValid(c0c1.data() + 1, 1, flashPlayerKey(false)));

  auto s = server.feed(c0c1);
  ASSERT_TRUE(s);
  EXPECT_TRUE(server.usedDigest());
  EXPECT_EQ(server.schema(), 1);
  Bytes s012 = toBytes(s->send);
  const uint8_t* s1 = s012.data() + 1;
  const uint8_t* s2 = s012.data() + 1537;
  EXPECT_NE(s1[4] | s1[5] | s1[6] | s1[7], 0);  // versioned S1
  EXPECT_TRUE(digestValid(s1, 1, flashServerKey(false)));
  size_t c1Pos = digestPos(c0c1.data() + 1, 1);
  EXPECT_TRUE(responseValid(s2, flashServerKey(true), std::span(c0c1.data() + 1 + c1Pos, 32)));

  auto c = client.feed(s012);
  ASSERT_TRUE(c) << c.message();
  EXPECT_TRUE(client.serverUsedDigest());
  Bytes c2 = toBytes(c->send);
  ASSERT_EQ(c2.size(), 1536u);
  size_t s1Pos = digestPos(s1, 1);
  EXPECT_TRUE(responseValid(c2.data(), flashPlayerKey(true), std::span(s1 + s1Pos, 32)));

  auto done = server.feed(c2);
  ASSERT_TRUE(done);
  EXPECT_TRUE(done->done);
}

TEST(Handshake, DigestSchemaZeroIsMirrored) {
  Bytes c0c1(1537);
  for (size_t i = 0; i < c0c1.size(); ++i) c0c1[i] = uint8_t(i * 7 + 3);
  c0c1[0] = 3;
  uint8_t* c1 = c0c1.data() + 1;
  c1[4] = 0x80;
  c1[5] = 0;
  c1[6] = 7;
  c1[7] = 2;
  size_t pos = digestPos(c1, 0);
  Bytes msg(c1, c1 + pos);
  msg.insert(msg.end(), c1 + pos + 32, c1 + 1536);
  Bytes d = hmac(flashPlayerKey(false), msg);
  std::memcpy(c1 + pos, d.data(), 32);
  ASSERT_EQ(handshakeFindSchema(std::span<const uint8_t, 1536>(c1, 1536), flashPlayerKey(false)),
            0);

  HandshakeServer server;
  auto s = server.feed(c0c1);
  ASSERT_TRUE(s);
  EXPECT_EQ(server.schema(), 0);
  Bytes s012 = toBytes(s->send);
  EXPECT_TRUE(digestValid(s012.data() + 1, 0, flashServerKey(false)));
  EXPECT_TRUE(responseValid(s012.data() + 1537, flashServerKey(true), std::span(c1 + pos, 32)));
}

TEST(Handshake, VersionedC1WithoutDigestFallsBackToSimple) {
  HandshakeClient client(true);
  Bytes c0c1 = toBytes(client.start());
  c0c1[1 + digestPos(c0c1.data() + 1, 1)] ^= 0xFF;  // break the digest
  HandshakeServer server;
  auto s = server.feed(c0c1);
  ASSERT_TRUE(s);
  EXPECT_FALSE(server.usedDigest());
  Bytes s012 = toBytes(s->send);
  EXPECT_EQ(Bytes(s012.begin() + 1537, s012.end()), Bytes(c0c1.begin() + 1, c0c1.end()));
}

TEST(Handshake, FfmpegCapturedC1HasValidDigest) {
  std::ifstream f(XL_RTMP_TEST_DATA "/ffmpeg_c0c1.bin", std::ios::binary);
  ASSERT_TRUE(f) << "missing tests/data/rtmp/ffmpeg_c0c1.bin";
  Bytes c0c1((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_EQ(c0c1.size(), 1537u);
  HandshakeServer server;
  auto s = server.feed(c0c1);
  ASSERT_TRUE(s) << s.message();
  ASSERT_TRUE(server.usedDigest());
  int schema = server.schema();
  EXPECT_TRUE(digestValid(c0c1.data() + 1, schema, flashPlayerKey(false)));
  Bytes s012 = toBytes(s->send);
  size_t pos = digestPos(c0c1.data() + 1, schema);
  EXPECT_TRUE(digestValid(s012.data() + 1, schema, flashServerKey(false)));
  EXPECT_TRUE(responseValid(s012.data() + 1537, flashServerKey(true),
                            std::span(c0c1.data() + 1 + pos, 32)));
}

TEST(Handshake, ByteAtATimeAndTrailingChunkData) {
  HandshakeClient client(true);
  HandshakeServer server;
  Bytes c0c1 = toBytes(client.start());
  Bytes s012;
  for (size_t i = 0; i < c0c1.size(); ++i) {
    auto s = server.feed(std::span(&c0c1[i], 1));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->consumed, 1u);
    if (s->send) {
      EXPECT_EQ(i, c0c1.size() - 1);
      s012 = toBytes(s->send);
    }
  }
  ASSERT_EQ(s012.size(), 3073u);
  auto c = client.feed(s012);
  ASSERT_TRUE(c);
  Bytes c2 = toBytes(c->send);
  c2.insert(c2.end(), {0x03, 0x00, 0x00, 0x00, 0x00});  // first chunk of "connect" follows C2
  auto half = server.feed(std::span(c2.data(), 1000));
  ASSERT_TRUE(half);
  EXPECT_FALSE(half->done);
  auto rest = server.feed(std::span(c2.data() + 1000, c2.size() - 1000));
  ASSERT_TRUE(rest);
  EXPECT_TRUE(rest->done);
  EXPECT_EQ(rest->consumed, 536u);  // the 5 chunk bytes are left for the chunk reader
  auto after = server.feed(std::span(c2.data(), 3));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->consumed, 0u);
}

TEST(Handshake, C0C1AndC2InOneRead) {
  HandshakeClient client(false);
  Bytes in = toBytes(client.start());
  in.resize(1537 + 1536, 0x42);
  HandshakeServer server;
  auto s = server.feed(in);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->done);
  EXPECT_EQ(s->consumed, in.size());
  EXPECT_EQ(s->send.size(), 3073u);
}

TEST(Handshake, BadVersionsRejected) {
  for (int v : {6, 8, 32, int('G'), 0xFF}) {
    HandshakeServer server;
    uint8_t c0 = uint8_t(v);
    auto s = server.feed(std::span(&c0, 1));
    EXPECT_FALSE(s) << int(v);
  }
  HandshakeServer reserved;  // §5.2.2: 4..31 are answered with 3
  Bytes c0c1(1537, 0);
  c0c1[0] = 4;
  auto s = reserved.feed(c0c1);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->send.data()[0], 3);
}

TEST(Handshake, ClientRejectsForgedS2) {
  HandshakeClient client(true);
  HandshakeServer server;
  auto s = server.feed(toBytes(client.start()));
  ASSERT_TRUE(s);
  Bytes s012 = toBytes(s->send);
  s012[1537 + 100] ^= 1;
  EXPECT_FALSE(client.feed(s012));

  HandshakeClient c2(true);
  c2.start();
  Bytes bad(3073, 0);
  bad[0] = 6;
  EXPECT_FALSE(c2.feed(bad));
}

}  // namespace
}  // namespace xl::rtmp
