// UDP GSO on the WHEP send path: a viewer's SRTP packets laid out back to back by PacketBatch go
// out through UdpSocket as few GSO messages, and the receiver (a plain socket, no UDP_GRO) gets
// the same datagrams one by one, each a valid SRTP packet. Without GSO, or when the kernel
// refuses it (SO_NO_CHECK makes Linux answer EINVAL), every datagram is its own message and the
// socket falls back for good.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "../core/test_util.h"
#include "rtp/rtp_packet.h"
#include "udp_test_util.h"
#include "webrtc/packet_batch.h"
#include "webrtc/srtp.h"
#include "xueliang/udp.h"

namespace xl::webrtc {
namespace {

using test::frame;
using test::key;
using test::Receiver;
using test::runOn;

struct Sent {
  size_t taken = 0;
  uint64_t messages = 0;
  bool gsoAfter = false;
};

class UdpGso : public ::testing::Test {
 protected:
  void SetUp() override { w_.start(); }
  void TearDown() override { w_.stop(); }

  // Protects `packets` into one PacketBatch and sends it with GSO on or off; `noCheck` sets
  // SO_NO_CHECK on the sender first, under which the kernel refuses GSO.
  Sent send(const std::vector<std::vector<uint8_t>>& packets, int port, bool gso, bool noCheck) {
    Sent r;
    runOn(w_, [&] {
      UdpSocket s(w_, nullptr);
      ASSERT_TRUE(s.bind("127.0.0.1:0"));
      if (noCheck) {
        int one = 1;
        ASSERT_EQ(::setsockopt(s.fd(), SOL_SOCKET, SO_NO_CHECK, &one, sizeof one), 0);
      }
      s.setGso(gso);
      auto tx = SrtpSession::create(SrtpProfile::kAeadAes128Gcm, key(),
                                    SrtpSession::Direction::kOutbound);
      ASSERT_TRUE(tx) << tx.message();
      std::vector<uint8_t> area(256 * 1024);
      PacketBatch batch;
      batch.reset(area.data(), area.size());
      for (const auto& p : packets) {
        uint8_t* out = batch.next(p.size());
        ASSERT_NE(out, nullptr);
        std::memcpy(out, p.data(), p.size());
        auto n = (*tx)->protectRtp(out, p.size());
        ASSERT_TRUE(n) << n.message();
        batch.add(*n);
      }
      auto to = udpAddress("127.0.0.1", port);
      ASSERT_TRUE(to);
      r.taken = s.sendEach(*to, batch.datagrams());
      r.messages = s.messages();
      r.gsoAfter = s.gso();
    });
    return r;
  }

  // Receives packets.size() datagrams and checks each is the SRTP form of its packet, in order.
  void expectReceived(Receiver& rx, const std::vector<std::vector<uint8_t>>& packets) {
    auto in =
        SrtpSession::create(SrtpProfile::kAeadAes128Gcm, key(), SrtpSession::Direction::kInbound);
    ASSERT_TRUE(in) << in.message();
    for (size_t i = 0; i < packets.size(); ++i) {
      std::vector<uint8_t> d = rx.next();
      ASSERT_EQ(d.size(), packets[i].size() + 16) << "datagram " << i;
      auto n = (*in)->unprotectRtp(d.data(), d.size());
      ASSERT_TRUE(n) << "datagram " << i << ": " << n.message();
      d.resize(*n);
      EXPECT_EQ(d, packets[i]) << "datagram " << i;
    }
  }

  Worker w_{0};
};

TEST_F(UdpGso, FrameLeavesAsOneMessagePerRun) {
  Receiver rx;
  // 8 full fragments + a shorter last one: one GSO message; the small packet after it: another.
  auto packets = frame(1200, 8, 400, 30);
  Sent s = send(packets, rx.port(), true, false);
  EXPECT_EQ(s.taken, packets.size());
  EXPECT_EQ(s.messages, 2u);
  EXPECT_TRUE(s.gsoAfter);
  expectReceived(rx, packets);
}

TEST_F(UdpGso, LongRunsAreCutAtTheSegmentAndSizeLimits) {
  Receiver rx;
  // 100 equal packets of 1416 bytes protected: 45 fit under the 65,000-byte message limit.
  auto packets = frame(1400, 100, 0, 0);
  Sent s = send(packets, rx.port(), true, false);
  EXPECT_EQ(s.taken, 100u);
  EXPECT_EQ(s.messages, 3u);  // 45 + 45 + 10
  expectReceived(rx, packets);
  // 100 small ones: 64 segments at most per message.
  packets = frame(100, 100, 0, 0);
  s = send(packets, rx.port(), true, false);
  EXPECT_EQ(s.messages, 2u);  // 64 + 36
  expectReceived(rx, packets);
}

// GSO off, and on but refused by the kernel: one message per datagram, every datagram arrives.
TEST_F(UdpGso, OffOrRefusedSendsOneMessagePerDatagram) {
  Receiver rx;
  auto packets = frame(1200, 8, 400, 30);
  for (bool refused : {false, true}) {
    Sent s = send(packets, rx.port(), refused, refused);
    EXPECT_EQ(s.taken, packets.size());
    EXPECT_EQ(s.messages, packets.size());
    EXPECT_FALSE(s.gsoAfter) << "a refusal turns GSO off for good";
    expectReceived(rx, packets);
  }
}

TEST(PacketBatch, LaysPacketsOutBackToBackWithinTheArea) {
  std::vector<uint8_t> area(1000);
  PacketBatch b;
  b.reset(area.data(), area.size());
  ASSERT_EQ(b.next(100), area.data());
  b.add(116);
  ASSERT_EQ(b.next(100), area.data() + 116);
  b.add(116);
  ASSERT_EQ(b.datagrams().size(), 2u);
  EXPECT_EQ(b.datagrams()[1].iov_base, area.data() + 116);
  // 232 used: a packet of 745 bytes plus its trailer room no longer fits, 744 does.
  EXPECT_EQ(b.next(1000 - 232 - kSrtpMaxTrailer + 1), nullptr);
  EXPECT_NE(b.next(1000 - 232 - kSrtpMaxTrailer), nullptr);
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.next(100), area.data());
}

}  // namespace
}  // namespace xl::webrtc
