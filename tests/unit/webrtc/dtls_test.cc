#include "webrtc/dtls.h"

#include <gtest/gtest.h>

#include <deque>
#include <vector>

#include "webrtc/srtp.h"

namespace xl::webrtc {
namespace {

using Datagrams = std::deque<std::vector<uint8_t>>;

struct Pair {
  std::shared_ptr<const DtlsIdentity> serverId, clientId;
  Datagrams toServer, toClient;
  std::unique_ptr<DtlsTransport> server, client;
  size_t largest = 0;

  Pair() {
    auto s = DtlsIdentity::generate(true);
    auto c = DtlsIdentity::generate(false);
    EXPECT_TRUE(s) << s.message();
    EXPECT_TRUE(c) << c.message();
    serverId = *s;
    clientId = *c;
    server = std::make_unique<DtlsTransport>(serverId, [this](std::span<const uint8_t> d) {
      largest = std::max(largest, d.size());
      toClient.emplace_back(d.begin(), d.end());
    });
    client = std::make_unique<DtlsTransport>(clientId, [this](std::span<const uint8_t> d) {
      toServer.emplace_back(d.begin(), d.end());
    });
  }

  // Delivers datagrams both ways until both sides are connected or nothing moves.
  void pump() {
    for (int round = 0; round < 50 && !(server->connected() && client->connected()); ++round) {
      bool moved = false;
      while (!toServer.empty()) {
        auto d = std::move(toServer.front());
        toServer.pop_front();
        EXPECT_TRUE(server->feed(d));
        moved = true;
      }
      while (!toClient.empty()) {
        auto d = std::move(toClient.front());
        toClient.pop_front();
        EXPECT_TRUE(client->feed(d));
        moved = true;
      }
      if (!moved) break;
    }
  }
};

TEST(Dtls, IdentityHasSha256Fingerprint) {
  auto id = DtlsIdentity::generate(true);
  ASSERT_TRUE(id) << id.message();
  EXPECT_EQ((*id)->fingerprint().size(), 32u * 3 - 1);  // 32 bytes "AB:" ... "EF"
  auto other = DtlsIdentity::generate(true);
  EXPECT_NE((*id)->fingerprint(), (*other)->fingerprint());
}

TEST(Dtls, HandshakeExportsMatchingSrtpKeys) {
  Pair p;
  ASSERT_TRUE(p.client->connect());
  p.pump();
  ASSERT_TRUE(p.server->connected());
  ASSERT_TRUE(p.client->connected());
  EXPECT_LE(p.largest, 1200u) << "a server datagram exceeds the DTLS MTU";
  // Each side sees the other's certificate, as a=fingerprint would name it.
  EXPECT_EQ(p.server->peerFingerprint(), p.clientId->fingerprint());
  EXPECT_EQ(p.client->peerFingerprint(), p.serverId->fingerprint());

  auto sk = p.server->srtpKeys();
  auto ck = p.client->srtpKeys();
  ASSERT_TRUE(sk) << sk.message();
  ASSERT_TRUE(ck) << ck.message();
  EXPECT_EQ(sk->profile, SrtpProfile::kAeadAes128Gcm);  // preferred when both offer it
  EXPECT_EQ(sk->local, ck->remote);
  EXPECT_EQ(sk->remote, ck->local);
  EXPECT_NE(sk->local, sk->remote);
  EXPECT_EQ(sk->local.size(), 28u);

  // The exported keys interoperate: server protects, client unprotects.
  auto tx = SrtpSession::create(sk->profile, sk->local, SrtpSession::Direction::kOutbound);
  auto rx = SrtpSession::create(ck->profile, ck->remote, SrtpSession::Direction::kInbound);
  ASSERT_TRUE(tx && rx);
  std::vector<uint8_t> pkt(100 + kSrtpMaxTrailer, 0x5a);
  pkt[0] = 0x80;
  pkt[1] = 102;
  auto n = (*tx)->protectRtp(pkt.data(), 100);
  ASSERT_TRUE(n);
  auto m = (*rx)->unprotectRtp(pkt.data(), *n);
  ASSERT_TRUE(m) << m.message();
  EXPECT_EQ(*m, 100u);
  EXPECT_EQ(pkt[50], 0x5a);
}

TEST(Dtls, GarbageDoesNotConnect) {
  Pair p;
  std::vector<uint8_t> junk(300, 0x16);  // looks like a handshake record, is not one
  (void)p.server->feed(junk);
  EXPECT_FALSE(p.server->connected());
  EXPECT_FALSE(p.server->srtpKeys());
  // The server still completes a real handshake afterwards (unless the junk closed it).
  if (!p.server->closed()) {
    ASSERT_TRUE(p.client->connect());
    p.pump();
    EXPECT_TRUE(p.server->connected());
  }
}

}  // namespace
}  // namespace xl::webrtc
