// Sending across viewers: UdpSocket::sendMany hands many destinations' datagrams to the kernel in
// one sendmmsg (GSO runs as one message each), and SendQueue gathers viewers' frames for it over
// a loop iteration. Real loopback sockets: every receiver gets its own datagrams intact and in
// order; a destination the kernel refuses loses only its own; a queue that fills up sends and
// goes on; an owner that goes away is not called back. Last, xl-load's UDP_GRO receiver on
// the same GSO batches.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "../core/test_util.h"
#include "udp_gro.h"
#include "udp_test_util.h"
#include "webrtc/send_queue.h"
#include "xueliang/udp.h"

namespace xl::webrtc {

using test::frame;
using test::Receiver;
using test::runOn;
using Packets = std::vector<std::vector<uint8_t>>;

// Viewer `v`'s copy of a frame: the SSRC tells viewers apart.
static Packets frameFor(size_t v, size_t full = 1200, size_t count = 8) {
  Packets p = frame(full, count, 400, 30);
  for (auto& d : p) rtp::putBe32(d.data() + 8, static_cast<uint32_t>(0xabc000 + v));
  return p;
}

static void expectReceived(Receiver& rx, const Packets& packets) {
  for (size_t i = 0; i < packets.size(); ++i) {
    std::vector<uint8_t> d = rx.next();
    ASSERT_EQ(d, packets[i]) << "datagram " << i;
  }
}

// Lays `packets` out back to back in `area` (as a viewer's frame) and returns their iovecs.
static std::vector<iovec> layOut(const Packets& packets, std::vector<uint8_t>& area) {
  size_t bytes = 0;
  for (const auto& p : packets) bytes += p.size();
  area.resize(bytes);
  std::vector<iovec> iov;
  size_t at = 0;
  for (const auto& p : packets) {
    std::memcpy(area.data() + at, p.data(), p.size());
    iov.push_back({area.data() + at, p.size()});
    at += p.size();
  }
  return iov;
}

static UdpAddress loopback(int port) {
  auto a = udpAddress("127.0.0.1", port);
  EXPECT_TRUE(a);
  return a ? *a : UdpAddress{};
}

namespace {

class SendAcross : public ::testing::Test {
 protected:
  void SetUp() override { w_.start(); }
  void TearDown() override { w_.stop(); }
  Worker w_{0};
};

TEST_F(SendAcross, ManyViewersInOneCallAllArriveIntact) {
  constexpr size_t kViewers = 40;  // 2 messages each with GSO: 80, under one call's 128
  std::vector<std::unique_ptr<Receiver>> rx;
  std::vector<Packets> packets;
  std::vector<std::vector<uint8_t>> areas(kViewers);
  std::vector<std::vector<iovec>> iovs;
  std::vector<UdpAddress> to;
  for (size_t v = 0; v < kViewers; ++v) {
    rx.push_back(std::make_unique<Receiver>());
    packets.push_back(frameFor(v));
    iovs.push_back(layOut(packets[v], areas[v]));
    to.push_back(loopback(rx[v]->port()));
  }
  for (bool gso : {true, false}) {
    uint64_t messages = 0;
    std::vector<UdpBatchEntry> entries;
    for (size_t v = 0; v < kViewers; ++v) entries.push_back({&to[v], iovs[v], 99});
    runOn(w_, [&] {
      UdpSocket s(w_, nullptr);
      ASSERT_TRUE(s.bind("127.0.0.1:0"));
      s.setGso(gso);
      s.sendMany(entries);
      messages = s.messages();
    });
    for (size_t v = 0; v < kViewers; ++v) {
      EXPECT_EQ(entries[v].sent, packets[v].size()) << "viewer " << v;
      expectReceived(*rx[v], packets[v]);
    }
    // With GSO: the full-size run with its short last packet, then the small one.
    EXPECT_EQ(messages, gso ? 2 * kViewers : kViewers * packets[0].size());
  }
}

TEST_F(SendAcross, RefusedDestinationLosesOnlyItsOwn) {
  Receiver a, c;
  Packets pa = frameFor(1), pb = frameFor(2), pc = frameFor(3);
  std::vector<uint8_t> areaA, areaB, areaC;
  auto ia = layOut(pa, areaA), ib = layOut(pb, areaB), ic = layOut(pc, areaC);
  UdpAddress ta = loopback(a.port()), tc = loopback(c.port());
  // Broadcast without SO_BROADCAST: the kernel answers EACCES for that message alone.
  UdpAddress tb = *udpAddress("255.255.255.255", 9);
  std::vector<UdpBatchEntry> entries = {{&ta, ia}, {&tb, ib}, {&tc, ic}, {&tb, ib}};
  bool gsoAfter = false;
  runOn(w_, [&] {
    UdpSocket s(w_, nullptr);
    ASSERT_TRUE(s.bind("0.0.0.0:0"));
    s.setGso(true);
    s.sendMany(entries);
    gsoAfter = s.gso();
  });
  EXPECT_EQ(entries[0].sent, pa.size());
  EXPECT_EQ(entries[1].sent, 0u);
  EXPECT_EQ(entries[2].sent, pc.size());
  EXPECT_EQ(entries[3].sent, 0u);
  EXPECT_TRUE(gsoAfter) << "a refused destination is not a refusal of GSO";
  expectReceived(a, pa);
  expectReceived(c, pc);
}

TEST_F(SendAcross, GsoRefusedFallsBackForEveryEntry) {
  Receiver a, b;
  Packets pa = frameFor(1), pb = frameFor(2);
  std::vector<uint8_t> areaA, areaB;
  auto ia = layOut(pa, areaA), ib = layOut(pb, areaB);
  UdpAddress ta = loopback(a.port()), tb = loopback(b.port());
  std::vector<UdpBatchEntry> entries = {{&ta, ia}, {&tb, ib}};
  bool gsoAfter = true;
  runOn(w_, [&] {
    UdpSocket s(w_, nullptr);
    ASSERT_TRUE(s.bind("127.0.0.1:0"));
    int one = 1;  // under SO_NO_CHECK Linux refuses UDP_SEGMENT with EINVAL
    ASSERT_EQ(::setsockopt(s.fd(), SOL_SOCKET, SO_NO_CHECK, &one, sizeof one), 0);
    s.setGso(true);
    s.sendMany(entries);
    gsoAfter = s.gso();
  });
  EXPECT_FALSE(gsoAfter);
  EXPECT_EQ(entries[0].sent, pa.size());
  EXPECT_EQ(entries[1].sent, pb.size());
  expectReceived(a, pa);
  expectReceived(b, pb);
}

struct Owner : SendQueue::Owner {
  std::vector<SendQueue::Outcome> heard;
  void onSent(const SendQueue::Outcome& o) override { heard.push_back(o); }
};

// Queues `packets` as one entry of `owner` to `to`.
void queue(SendQueue& q, Owner& owner, const UdpAddress& to, const Packets& packets) {
  q.begin(&owner, to, true);
  for (const auto& p : packets) {
    uint8_t* out = q.next(p.size());
    ASSERT_NE(out, nullptr);
    std::memcpy(out, p.data(), p.size());
    q.add(p.size());
  }
  q.end();
}

TEST_F(SendAcross, QueueLeavesAtTheEndOfTheLoopIteration) {
  Receiver a, b, gone;
  Packets pa = frameFor(1), pb = frameFor(2), pg = frameFor(3);
  UdpAddress ta = loopback(a.port()), tb = loopback(b.port()), tg = loopback(gone.port());
  Owner oa, ob, og;
  auto sock = std::make_unique<UdpSocket>(w_, nullptr);
  std::unique_ptr<SendQueue> q;
  size_t queuedThen = 0;
  runOn(w_, [&] {
    ASSERT_TRUE(sock->bind("127.0.0.1:0"));
    sock->setGso(true);
    q = std::make_unique<SendQueue>(*sock, w_.flushTimer());
    queue(*q, oa, ta, pa);
    queue(*q, og, tg, pg);
    queue(*q, ob, tb, pb);
    q->forget(&og);  // that viewer closed before the end of the iteration
    queuedThen = q->entries();
  });
  EXPECT_EQ(queuedThen, 3u) << "nothing left before the iteration ended";
  expectReceived(a, pa);
  expectReceived(b, pb);
  runOn(w_, [&] {
    EXPECT_EQ(q->entries(), 0u);
    EXPECT_EQ(q->flushes(), 1u) << "both viewers in one sendMany";
    q.reset();
    sock.reset();
  });
  ASSERT_EQ(oa.heard.size(), 1u);
  EXPECT_EQ(oa.heard[0].sent, pa.size());
  EXPECT_EQ(oa.heard[0].datagrams, pa.size());
  size_t bytes = 0;
  for (const auto& p : pa) bytes += p.size();
  EXPECT_EQ(oa.heard[0].bytes, bytes);
  ASSERT_EQ(ob.heard.size(), 1u);
  EXPECT_TRUE(og.heard.empty()) << "a forgotten owner is not called";
  EXPECT_TRUE(gone.next().empty()) << "a forgotten owner's packets are dropped";
}

TEST_F(SendAcross, FullQueueSendsAndGoesOn) {
  // More viewers than entries and a frame larger than the area: everything still arrives, each
  // viewer's datagrams in order, in several flushes.
  constexpr size_t kViewers = SendQueue::kEntries + 10;
  std::vector<std::unique_ptr<Receiver>> rx;
  std::vector<UdpAddress> to;
  std::vector<Owner> owners(kViewers);
  for (size_t v = 0; v < kViewers; ++v) {
    rx.push_back(std::make_unique<Receiver>());
    to.push_back(loopback(rx.back()->port()));
  }
  Packets big = frameFor(999, 1400, SendQueue::kBytes / 1400 + 20);  // over kBytes
  uint64_t flushes = 0;
  runOn(w_, [&] {
    UdpSocket s(w_, nullptr);
    ASSERT_TRUE(s.bind("127.0.0.1:0"));
    s.setGso(true);
    SendQueue q(s, w_.flushTimer());
    for (size_t v = 0; v < kViewers; ++v) queue(q, owners[v], to[v], frameFor(v));
    queue(q, owners[0], to[0], big);
    q.flush();
    q.stop();
    flushes = q.flushes();
  });
  EXPECT_GE(flushes, 3u);
  for (size_t v = 0; v < kViewers; ++v) {
    expectReceived(*rx[v], frameFor(v));
    size_t sent = 0;
    for (const auto& o : owners[v].heard) sent += o.sent;
    EXPECT_EQ(sent, frameFor(v).size() + (v == 0 ? big.size() : 0)) << "viewer " << v;
  }
  expectReceived(*rx[0], big);
}

}  // namespace
}  // namespace xl::webrtc

namespace xlload {
namespace {

// xl-load's --whep-gro receive path: a GSO batch from UdpSocket reaches a UDP_GRO socket as one
// buffer, and GroReceiver cuts it back into exactly the datagrams that were sent.
TEST(GroReceiver, SplitsAGsoBatchIntoTheSentDatagrams) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(enableUdpGro(fd));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &alen);
  // Two viewers' worth to one socket: runs of 1200 + a short last one, then a small packet.
  xl::webrtc::Packets sent = xl::webrtc::frameFor(1);
  for (auto& p : xl::webrtc::frameFor(2)) sent.push_back(p);
  std::vector<uint8_t> area;
  auto iov = xl::webrtc::layOut(sent, area);
  xl::Worker w(0);  // not started: the socket only sends
  xl::UdpSocket s(w, nullptr);
  ASSERT_TRUE(s.bind("127.0.0.1:0"));
  s.setGso(true);
  auto to = xl::udpAddress("127.0.0.1", ntohs(a.sin_port));
  ASSERT_TRUE(to);
  ASSERT_EQ(s.sendEach(*to, iov), sent.size());
  ASSERT_LT(s.messages(), sent.size()) << "GSO messages, not one per datagram";
  auto rx = std::make_unique<GroReceiver>();
  xl::webrtc::Packets got;
  size_t buffers = 0;
  for (int tries = 0; tries < 100 && got.size() < sent.size(); ++tries) {
    int n = rx->receive(fd);
    ASSERT_GE(n, 0);
    buffers += static_cast<size_t>(n);
    for (int i = 0; i < n; ++i)
      rx->forEachDatagram(i, [&](uint8_t* p, size_t len) { got.emplace_back(p, p + len); });
    if (n == 0) ::usleep(1000);
  }
  EXPECT_EQ(got, sent);
  EXPECT_LT(buffers, sent.size()) << "the kernel handed over whole batches";
  ::close(fd);
}

}  // namespace
}  // namespace xlload
