#include "webrtc/dtls.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <thread>
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

// Copies of every datagram of one direction, to lose or repeat some.
std::vector<std::vector<uint8_t>> take(Datagrams& q) {
  std::vector<std::vector<uint8_t>> out(q.begin(), q.end());
  q.clear();
  return out;
}

TEST(DtlsLoss, RepeatedClientHelloGetsTheLostServerFlightAtOnce) {
  Pair p;
  ASSERT_TRUE(p.client->connect());
  auto hello = take(p.toServer);
  ASSERT_EQ(hello.size(), 1u);
  ASSERT_TRUE(p.server->feed(hello[0]));
  const size_t flight = p.toClient.size();
  ASSERT_GT(flight, 0u);
  p.toClient.clear();  // the server's whole flight is lost
  // The browser's timer repeats its ClientHello: the server answers it with its flight again
  // now, not when its own timer runs out.
  ASSERT_TRUE(p.server->feed(hello[0]));
  EXPECT_EQ(p.toClient.size(), flight);
  EXPECT_EQ(p.server->events().repeatsIn, 1u);
  EXPECT_EQ(p.server->events().answeredResends, 1u);
  EXPECT_EQ(p.server->events().timerResends, 0u);
  p.pump();
  EXPECT_TRUE(p.server->connected());
  EXPECT_TRUE(p.client->connected());
}

TEST(DtlsLoss, RepeatsAreAnsweredBoundedTimes) {
  Pair p;
  ASSERT_TRUE(p.client->connect());
  auto hello = take(p.toServer);
  ASSERT_TRUE(p.server->feed(hello[0]));
  p.toClient.clear();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(p.server->feed(hello[0]));
  EXPECT_EQ(p.server->events().repeatsIn, 50u);
  EXPECT_GT(p.server->events().answeredResends, 0u);
  EXPECT_LE(p.server->events().answeredResends, 12u) << "a peer could make us flood its address";
}

TEST(DtlsLoss, NewDataIsNotARepeat) {
  Pair p;
  ASSERT_TRUE(p.client->connect());
  ASSERT_TRUE(p.server->feed(take(p.toServer)[0]));
  // The client's next flight moves the handshake on: nothing is resent for it.
  for (auto& d : take(p.toClient)) ASSERT_TRUE(p.client->feed(d));
  for (auto& d : take(p.toServer)) ASSERT_TRUE(p.server->feed(d));
  EXPECT_TRUE(p.server->connected());
  EXPECT_EQ(p.server->events().repeatsIn, 0u);
  EXPECT_EQ(p.server->events().answeredResends, 0u);
  EXPECT_EQ(p.client->events().answeredResends, 0u);
}

// The highest handshake message_seq among datagrams (-1: none).
int highestSeq(const Datagrams& q) {
  int highest = -1;
  for (const auto& d : q) highest = std::max(highest, highestHandshakeSeq(d));
  return highest;
}

// Timers of a few hundred ms: a loaded machine can stall a thread for tens of ms anywhere.
constexpr unsigned kTimerMs = 200;
constexpr auto kPastTimer = std::chrono::milliseconds(kTimerMs + 100);

TEST(DtlsLoss, TimerResendsTheServerFlight) {
  Pair p;
  p.server->setInitialTimeoutMs(kTimerMs);
  EXPECT_EQ(p.server->timeoutMs(), -1) << "no timer before the server has sent anything";
  ASSERT_TRUE(p.client->connect());
  ASSERT_TRUE(p.server->feed(take(p.toServer)[0]));
  ASSERT_EQ(highestSeq(p.toClient), 4) << "ServerHello ... ServerHelloDone";
  p.toClient.clear();
  const int64_t left = p.server->timeoutMs();
  EXPECT_GE(left, 0);
  EXPECT_LE(left, int64_t(kTimerMs));
  std::this_thread::sleep_for(kPastTimer);
  ASSERT_TRUE(p.server->onTimer());
  EXPECT_EQ(highestSeq(p.toClient), 4) << "the whole flight again";
  EXPECT_EQ(p.server->events().timerResends, 1u);
  // The timer doubles (RFC 6347 §4.2.4.1).
  EXPECT_GT(p.server->timeoutMs(), int64_t(kTimerMs));
  p.pump();
  EXPECT_TRUE(p.client->connected());
  EXPECT_TRUE(p.server->connected());
}

TEST(DtlsLoss, ClientAnswersTheRepeatedServerFlightWithItsLostFlight) {
  Pair p;
  p.server->setInitialTimeoutMs(kTimerMs);
  ASSERT_TRUE(p.client->connect());
  ASSERT_TRUE(p.server->feed(take(p.toServer)[0]));
  for (auto& d : take(p.toClient)) ASSERT_TRUE(p.client->feed(d));
  ASSERT_FALSE(p.toServer.empty());
  p.toServer.clear();  // the client's Certificate ... Finished are lost
  // The server's timer repeats its flight; the client sends its own again at once (its own
  // timer, 1 s, has not run out).
  std::this_thread::sleep_for(kPastTimer);
  ASSERT_TRUE(p.server->onTimer());
  ASSERT_FALSE(p.toClient.empty());
  for (auto& d : take(p.toClient)) ASSERT_TRUE(p.client->feed(d));
  EXPECT_GE(p.client->events().answeredResends, 1u);
  EXPECT_FALSE(p.toServer.empty());
  p.pump();
  EXPECT_TRUE(p.server->connected());
  EXPECT_TRUE(p.client->connected());
}

TEST(DtlsLoss, LostFinalServerFlightIsAnsweredAfterTheHandshake) {
  Pair p;
  p.client->setInitialTimeoutMs(kTimerMs);
  ASSERT_TRUE(p.client->connect());
  ASSERT_TRUE(p.server->feed(take(p.toServer)[0]));
  for (auto& d : take(p.toClient)) ASSERT_TRUE(p.client->feed(d));
  for (auto& d : take(p.toServer)) ASSERT_TRUE(p.server->feed(d));
  ASSERT_TRUE(p.server->connected());
  p.toClient.clear();  // ChangeCipherSpec and Finished are lost
  std::this_thread::sleep_for(kPastTimer);
  ASSERT_TRUE(p.client->onTimer());  // the client repeats its last flight
  EXPECT_EQ(p.client->events().timerResends, 1u);
  p.pump();
  EXPECT_TRUE(p.client->connected()) << "a connected server must answer a repeated Finished";
}

TEST(DtlsLoss, UnsentFlightIsResentOnRequest) {
  Pair p;
  EXPECT_FALSE(p.server->resendFlight()) << "nothing to resend before a flight";
  ASSERT_TRUE(p.client->connect());
  ASSERT_TRUE(p.server->feed(take(p.toServer)[0]));
  const size_t flight = p.toClient.size();
  p.toClient.clear();
  EXPECT_TRUE(p.server->resendFlight());
  EXPECT_EQ(p.toClient.size(), flight);
  p.pump();
  EXPECT_TRUE(p.client->connected());
  EXPECT_FALSE(p.server->resendFlight()) << "nothing to resend once connected";
}

TEST(DtlsLoss, HandshakeSeqOfRecords) {
  // One ClientHello record: epoch 0, message_seq 0.
  Pair p;
  ASSERT_TRUE(p.client->connect());
  EXPECT_EQ(highestHandshakeSeq(p.toServer.front()), 0);
  ASSERT_TRUE(p.server->feed(take(p.toServer)[0]));
  EXPECT_EQ(highestSeq(p.toClient), 4) << "ServerHello, Certificate, ServerKeyExchange, "
                                          "CertificateRequest, ServerHelloDone";
  // The first record alone (a flight shares one datagram when it fits).
  std::vector<uint8_t> rec = p.toClient.front();
  ASSERT_GT(rec.size(), 13u);
  rec.resize(13 + (size_t(rec[11]) << 8 | rec[12]));
  EXPECT_EQ(highestHandshakeSeq(rec), 0) << "ServerHello";
  // Truncated, empty, non-handshake and encrypted (epoch 1) records carry none.
  EXPECT_EQ(highestHandshakeSeq(std::span<const uint8_t>(rec.data(), 12)), -1);
  EXPECT_EQ(highestHandshakeSeq({}), -1);
  rec[0] = 23;
  EXPECT_EQ(highestHandshakeSeq(rec), -1);
  rec[0] = 22;
  rec[4] = 1;
  EXPECT_EQ(highestHandshakeSeq(rec), -1);
  rec[4] = 0;
  rec[12] = static_cast<uint8_t>(rec[12] + 1);  // length past the datagram
  EXPECT_EQ(highestHandshakeSeq(rec), -1);
}

TEST(DtlsCounters, MetricsText) {
  DtlsCounters c;
  c.answeredResends = 3;
  std::string text = c.metricsText();
  EXPECT_NE(text.find("xueliang_webrtc_dtls_answered_resends_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE xueliang_webrtc_dtls_handshake_timeouts_total counter"),
            std::string::npos);
}

}  // namespace
}  // namespace xl::webrtc
