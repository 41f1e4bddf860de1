// xueliang/udp.h (added to core for RTSP's shared RTP/RTCP ports): two workers bind the same port
// with SO_REUSEPORT, sendEach delivers one datagram per iovec, and receivers see the sender.
#include "xueliang/udp.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "../core/test_util.h"

namespace xl {
namespace {

using test::runOn;

TEST(UdpSocket, SharedPortSendAndReceive) {
  Worker a(0), b(1);
  a.start();
  b.start();
  std::unique_ptr<UdpSocket> sa, sb, rx;
  std::atomic<int> received{0};
  std::atomic<size_t> bytes{0};
  std::atomic<int> fromPort{0};
  int port = 0;
  runOn(a, [&] {
    sa = std::make_unique<UdpSocket>(a, nullptr);
    ASSERT_TRUE(sa->bind("127.0.0.1:0"));
    port = sa->port();
    rx = std::make_unique<UdpSocket>(a, [&](const uint8_t* d, size_t n, const UdpAddress& from) {
      bytes += n;
      fromPort = ntohs(reinterpret_cast<const sockaddr_in*>(&from.addr)->sin_port);
      ++received;
    });
    ASSERT_TRUE(rx->bind("127.0.0.1:0"));
  });
  ASSERT_GT(port, 0);
  runOn(b, [&] {  // a second worker's socket on the same port
    sb = std::make_unique<UdpSocket>(b, nullptr);
    ASSERT_TRUE(sb->bind("127.0.0.1:" + std::to_string(port)));
    EXPECT_EQ(sb->port(), port);
  });
  auto to = udpAddress("127.0.0.1", rx->port());
  ASSERT_TRUE(to) << to.message();
  runOn(b, [&] {
    uint8_t one[100] = {}, two[1200] = {}, three[1] = {7};
    iovec v[3] = {{one, sizeof one}, {two, sizeof two}, {three, sizeof three}};
    EXPECT_EQ(sb->sendEach(*to, v), 3u);
  });
  for (int i = 0; i < 200 && received < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(received.load(), 3);
  EXPECT_EQ(bytes.load(), 1301u);
  EXPECT_EQ(fromPort.load(), port);
  EXPECT_FALSE(udpAddress("not-an-ip", 1));
  runOn(a, [&] {
    sa.reset();
    rx.reset();
  });
  runOn(b, [&] {
    sb->close();
    uint8_t x = 0;
    iovec v{&x, 1};
    EXPECT_EQ(sb->sendEach(*to, {&v, 1}), 0u) << "sends on a closed socket are no-ops";
    sb.reset();
  });
  a.stop();
  b.stop();
}

}  // namespace
}  // namespace xl
