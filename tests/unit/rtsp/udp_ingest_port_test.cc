// udp_ingest_port.h: UDP publishers share the server ports. The kernel behaviour the design rests
// on (a connected socket in a SO_REUSEPORT group gets exactly its source's datagrams, on its
// worker), SSRC extraction from untrusted datagrams, and the router's NAT fallback and drop count.
#include "rtsp/udp_ingest_port.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "../core/test_util.h"

namespace xl::rtsp {
namespace {

using test::runOn;

void waitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 400 && !done(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

// A plain sending socket on 127.0.0.1 with its own port.
struct Sender {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  int port = 0;
  Sender() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Sender() { ::close(fd); }
  void send(int toPort, const uint8_t* d, size_t n) {
    auto to = udpAddress("127.0.0.1", toPort);
    ::sendto(fd, d, n, 0, reinterpret_cast<const sockaddr*>(&to->addr), to->len);
  }
};

TEST(UdpIngest, SsrcOfRejectsShortAndForeignDatagrams) {
  const uint8_t rtp[12] = {0x80, 96, 0, 1, 0, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF};
  uint32_t ssrc = 0;
  ASSERT_TRUE(ssrcOf(rtp, sizeof rtp, false, ssrc));
  EXPECT_EQ(ssrc, 0xDEADBEEFu);
  EXPECT_FALSE(ssrcOf(rtp, 11, false, ssrc));
  const uint8_t v1[12] = {0x40, 96};
  EXPECT_FALSE(ssrcOf(v1, sizeof v1, false, ssrc));
  const uint8_t sr[8] = {0x80, 200, 0, 6, 1, 2, 3, 4};
  ASSERT_TRUE(ssrcOf(sr, sizeof sr, true, ssrc));
  EXPECT_EQ(ssrc, 0x01020304u);
  EXPECT_FALSE(ssrcOf(sr, 7, true, ssrc));
  const uint8_t notRtcp[8] = {0x80, 96, 0, 6, 1, 2, 3, 4};
  EXPECT_FALSE(ssrcOf(notRtcp, sizeof notRtcp, true, ssrc));
  EXPECT_FALSE(ssrcOf(nullptr, 0, true, ssrc));
}

TEST(UdpIngest, ConnectedSocketOnTheSharedPortGetsItsSourceOnly) {
  Worker a(0), b(1);
  a.start();
  b.start();
  std::unique_ptr<UdpSocket> shared, mine;
  std::atomic<int> onShared{0}, onMine{0};
  Sender publisher, stranger;
  int port = 0;
  runOn(a, [&] {
    shared = std::make_unique<UdpSocket>(
        a, [&](const uint8_t*, size_t, const UdpAddress&) { ++onShared; });
    ASSERT_TRUE(shared->bind("127.0.0.1:0"));
    port = shared->port();
  });
  runOn(b, [&] {
    mine = std::make_unique<UdpSocket>(b, [&](const uint8_t*, size_t, const UdpAddress& from) {
      if (UdpKey::of(from).port == publisher.port) ++onMine;
    });
    ASSERT_TRUE(mine->bind("127.0.0.1:" + std::to_string(port)));
    auto peer = udpAddress("127.0.0.1", publisher.port);
    ASSERT_EQ(::connect(mine->fd(), reinterpret_cast<const sockaddr*>(&peer->addr), peer->len), 0);
  });
  const uint8_t d[20] = {0x80, 96};
  for (int i = 0; i < 50; ++i) publisher.send(port, d, sizeof d);
  for (int i = 0; i < 50; ++i) stranger.send(port, d, sizeof d);
  waitFor([&] { return onMine + onShared >= 100; });
  EXPECT_EQ(onMine.load(), 50) << "the connected socket gets every datagram of its source";
  EXPECT_EQ(onShared.load(), 50) << "and nothing else";
  runOn(a, [&] { shared.reset(); });
  runOn(b, [&] { mine.reset(); });
  a.stop();
  b.stop();
}

TEST(UdpIngest, RouterFollowsANatAndDropsUnknownSources) {
  Worker a(0), b(1);
  a.start();
  b.start();
  UdpIngestRouter router;
  auto alive = std::make_shared<bool>(true);
  std::atomic<int> moved{0}, movedPort{0}, movedBytes{0};
  std::atomic<bool> onOwner{false};
  auto client = udpAddress("127.0.0.1", 5000);
  uint64_t id =
      router.add(b, *client, alive, [&](int k, const UdpAddress& from, const uint8_t*, size_t n) {
        onOwner = b.inThisThread();
        movedPort = UdpKey::of(from).port;
        movedBytes += static_cast<int>(n);
        moved += k == 0 ? 1 : 100;
      });
  router.learnSsrc(id, 0x11223344);
  const uint8_t rtp[16] = {0x80, 96, 0, 1, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44};
  const uint8_t otherSsrc[16] = {0x80, 96, 0, 1, 0, 0, 0, 0, 9, 9, 9, 9};
  const uint8_t rr[8] = {0x80, 201, 0, 1, 1, 1, 1, 1};
  auto nat = udpAddress("127.0.0.1", 6000);
  auto elsewhere = udpAddress("127.0.0.2", 6000);
  runOn(a, [&] {
    router.onStray(a, 0, rtp, sizeof rtp, *nat);              // same IP and SSRC: moved
    router.onStray(a, 0, otherSsrc, sizeof otherSsrc, *nat);  // same IP, other SSRC
    router.onStray(a, 0, rtp, sizeof rtp, *elsewhere);        // other IP
    router.onStray(a, 1, rr, sizeof rr, *elsewhere);          // a viewer's report: silent
    router.onStray(a, 0, rtp, 5, *nat);                       // too short for an SSRC
  });
  waitFor([&] { return moved > 0; });
  test::settle(2, b);
  EXPECT_EQ(moved.load(), 1);
  EXPECT_TRUE(onOwner.load()) << "the track moves on its own worker";
  EXPECT_EQ(movedPort.load(), 6000);
  EXPECT_EQ(movedBytes.load(), 16) << "the datagram that revealed the new source is delivered";
  EXPECT_EQ(router.dropped(), 3u);
  router.remove(id);
  runOn(a, [&] { router.onStray(a, 0, rtp, sizeof rtp, *nat); });
  EXPECT_EQ(router.dropped(), 4u) << "a removed track is unknown";
  a.stop();
  b.stop();
}

}  // namespace
}  // namespace xl::rtsp
