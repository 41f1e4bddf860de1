// The media port's cross-worker routing pieces (worker_router.h): the worker named by an ICE
// ufrag, and the bounded pool of datagram parcels posted to other workers. Also the RFC 4571
// framing of ICE-TCP connections (ice_tcp_framing.h).
#include "webrtc/worker_router.h"

#include "webrtc/ice_tcp_framing.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <latch>
#include <thread>
#include <vector>

namespace xl::webrtc {
namespace {

TEST(WorkerRouter, UfragPrefixNamesItsWorker) {
  for (int w = 0; w < 62 * 62; ++w) {
    std::string u = ufragPrefix(w) + "abcdef";
    ASSERT_EQ(u.size(), 8u);
    ASSERT_EQ(workerOfUfrag(u), w) << u;
  }
  EXPECT_EQ(workerOfUfrag(""), -1);
  EXPECT_EQ(workerOfUfrag("A"), -1);
  EXPECT_EQ(workerOfUfrag("+Abc"), -1);  // not one of ours
  EXPECT_EQ(workerOfUfrag("A/bc"), -1);
}

TEST(WorkerRouter, AddressKeyTellsAddressesApart) {
  auto a = udpAddress("127.0.0.1", 5000), b = udpAddress("127.0.0.1", 5001),
       c = udpAddress("::1", 5000);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(addressKey(*a), addressKey(*udpAddress("127.0.0.1", 5000)));
  EXPECT_NE(addressKey(*a), addressKey(*b));
  EXPECT_NE(addressKey(*a), addressKey(*c));
}

struct Sink : ParcelSink {
  Worker* worker = nullptr;
  std::atomic<int> got{0}, offThread{0}, badBytes{0};
  std::latch* done = nullptr;
  void onForwarded(const uint8_t* data, size_t n, const UdpAddress& from) override {
    if (!worker->inThisThread()) ++offThread;
    if (n != 100 || data[0] != 0x80 || data[99] != static_cast<uint8_t>(got.load()) ||
        from.addr.ss_family != AF_INET)
      ++badBytes;
    ++got;
    if (done) done->count_down();
  }
};

TEST(ParcelPool, CopiesRunOnTheDestinationAndComeBack) {
  Worker w(1);
  Sink sink;
  sink.worker = &w;
  ParcelPool pool(4);
  auto from = udpAddress("127.0.0.1", 4000);
  ASSERT_TRUE(from);
  uint8_t d[100] = {0x80};
  // The worker is not running yet: four parcels go out, the fifth finds none free.
  for (int i = 0; i < 4; ++i) {
    d[99] = static_cast<uint8_t>(i);
    ASSERT_TRUE(pool.forward(w, sink, d, sizeof d, *from));
  }
  EXPECT_EQ(pool.inFlight(), 4u);
  EXPECT_FALSE(pool.forward(w, sink, d, sizeof d, *from));
  EXPECT_EQ(pool.dropped(), 1u);
  std::latch first(4);
  sink.done = &first;
  w.start();
  first.wait();
  // Returned by the worker after running: usable again.
  for (int i = 0; i < 200 && pool.inFlight() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(pool.inFlight(), 0u);
  std::latch more(40);
  sink.done = &more;
  int sent = 0;
  while (sent < 40) {  // one at a time: each parcel is back before the next goes
    // The count is read once the last parcel is back, so that it includes that parcel.
    if (pool.inFlight() == 0) {
      d[99] = static_cast<uint8_t>(sink.got.load());
      if (pool.forward(w, sink, d, sizeof d, *from)) ++sent;
    }
    std::this_thread::yield();
  }
  more.wait();
  EXPECT_EQ(sink.got.load(), 44);
  EXPECT_EQ(sink.offThread.load(), 0);
  EXPECT_EQ(sink.badBytes.load(), 0);
  EXPECT_EQ(pool.forwarded(), 44u);
  // Too large for a parcel: dropped and counted, not truncated.
  std::vector<uint8_t> big(ParcelPool::kMaxDatagram + 1, 0x80);
  EXPECT_FALSE(pool.forward(w, sink, big.data(), big.size(), *from));
  EXPECT_EQ(pool.dropped(), 2u);
  w.stop();
}

TEST(ParcelPool, EverySlotOfADeepPoolIsUsableAndReused) {
  // Slots are carved on first use: a backlog reaches the last one, and recycled ones go first.
  ParcelPool pool(1000);
  Sink sink;
  auto from = udpAddress("127.0.0.1", 4000);
  uint8_t d[100] = {0x80};
  {
    Worker w(3);
    sink.worker = &w;
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(pool.forward(w, sink, d, sizeof d, *from)) << i;
    EXPECT_EQ(pool.inFlight(), 1000u);
    EXPECT_FALSE(pool.forward(w, sink, d, sizeof d, *from));
    EXPECT_EQ(pool.dropped(), 1u);
  }  // never started: every parcel goes back
  EXPECT_EQ(pool.inFlight(), 0u);
  Worker w(4);
  sink.worker = &w;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(pool.forward(w, sink, d, sizeof d, *from)) << i;
  EXPECT_FALSE(pool.forward(w, sink, d, sizeof d, *from));
  EXPECT_EQ(pool.forwarded(), 2000u);
}

TEST(ParcelPool, ParcelsAWorkerNeverRanGoBackWhenItIsDestroyed) {
  ParcelPool pool(8);
  Sink sink;
  auto from = udpAddress("127.0.0.1", 4000);
  uint8_t d[100] = {0x80};
  {
    Worker w(2);
    sink.worker = &w;
    for (int i = 0; i < 8; ++i) ASSERT_TRUE(pool.forward(w, sink, d, sizeof d, *from));
    EXPECT_EQ(pool.inFlight(), 8u);
  }  // never started: its inbox deletes the tasks
  EXPECT_EQ(sink.got.load(), 0);
  EXPECT_EQ(pool.inFlight(), 0u);
}

TEST(IceTcpFraming, FramesPartialFramesAndBadLengths) {
  std::vector<uint8_t> in = {0, 3, 1, 2, 3, 0, 1, 9, 0, 5, 1, 2};  // 3, 1, then 2 of 5 bytes
  std::vector<size_t> sizes;
  auto used = readFrames(in, 100, [&](std::span<const uint8_t> f) {
    sizes.push_back(f.size());
    return true;
  });
  ASSERT_TRUE(used);
  EXPECT_EQ(*used, 8u) << "the partial third frame waits";
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 1}));

  sizes.clear();
  used = readFrames(in, 100, [&](std::span<const uint8_t> f) {
    sizes.push_back(f.size());
    return false;  // stop after the first
  });
  EXPECT_EQ(*used, 5u);
  EXPECT_EQ(sizes.size(), 1u);

  std::vector<uint8_t> empty = {0, 0, 1};
  EXPECT_FALSE(readFrames(empty, 100, [](auto) { return true; }));
  std::vector<uint8_t> big = {0x10, 0x00};  // 4096 > 100
  auto r = readFrames(big, 100, [](auto) { return true; });
  EXPECT_FALSE(r);
  EXPECT_NE(r.message().find("4096"), std::string::npos);
  std::vector<uint8_t> one = {0};
  EXPECT_EQ(*readFrames(one, 100, [](auto) { return true; }), 0u);
}

}  // namespace
}  // namespace xl::webrtc
