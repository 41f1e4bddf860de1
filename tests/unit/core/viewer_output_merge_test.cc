// Write batching in ViewerOutput over a real TcpConnection (a Unix socketpair on a worker): in
// realtime mode each delivered frame is one writev; in merge mode frames wait for the merge
// window (or the byte threshold) and leave together, while a join is written at once.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "connection_fixture.h"
#include "test_util.h"
#include "xueliang/viewer_output.h"

namespace xl {
namespace {

using namespace std::chrono_literals;
using test::runOn;

MuxedBatch frame(char tag, int64_t dts, size_t size, bool key = false,
                 MediaKind kind = MediaKind::kVideo) {
  MuxedBatch b;
  b.bytes = BufferRef::copyOf(std::string(size, tag));
  b.dts = dts;
  b.kind = kind;
  b.key = key;
  return b;
}

class ViewerOutputMergeTest : public test::ConnectionFixture {
 protected:
  ViewerOutputMergeTest() : ConnectionFixture(4 << 20) {}
  void makeOutput(uint32_t mergeWindowMs) {
    ViewerLimits l;
    l.mergeWindowMs = mergeWindowMs;
    ConnectionFixture::makeOutput(l);
  }
  std::string readPeer() {
    std::string got;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(peer, buf, sizeof(buf));
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
  uint64_t writes() {
    uint64_t n = 0;
    runOn(w, [&] { n = conn->writeCalls(); });
    return n;
  }
};

TEST_F(ViewerOutputMergeTest, RealtimeWritesEveryFrameAtOnce) {
  makeOutput(0);
  runOn(w, [&] {
    out->deliver(frame('K', 0, 1000, true));
    for (int i = 1; i < 5; ++i) out->deliver(frame('V', 40 * i, 1000));
  });
  EXPECT_EQ(writes(), 5u);
  std::string got = readPeer();
  EXPECT_EQ(got, std::string(1000, 'K') + std::string(4000, 'V'));
}

MuxedBatch audio(char tag, int64_t dts) {
  return frame(tag, dts, 300, false, MediaKind::kAudio);
}

TEST_F(ViewerOutputMergeTest, RealtimeAudioRidesWithTheNextVideoFrame) {
  makeOutput(0);
  runOn(w, [&] {
    out->deliver(frame('K', 0, 1000, true));
    out->deliver(audio('a', 10));
    out->deliver(audio('b', 33));
  });
  EXPECT_EQ(writes(), 1u) << "audio must wait for the next video frame";
  runOn(w, [&] { out->deliver(frame('V', 40, 1000)); });
  EXPECT_EQ(writes(), 2u);
  EXPECT_EQ(readPeer(), std::string(1000, 'K') + std::string(300, 'a') + std::string(300, 'b') +
                            std::string(1000, 'V'));
  // Video that pauses does not hold audio back for longer than kAudioHoldMs.
  runOn(w, [&] { out->deliver(audio('c', 60)); });
  EXPECT_EQ(writes(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(ViewerOutput::kAudioHoldMs + 20));
  runOn(w, [&] { out->deliver(audio('d', 200)); });
  EXPECT_EQ(writes(), 3u);
  EXPECT_EQ(readPeer(), std::string(300, 'c') + std::string(300, 'd'));
}

TEST_F(ViewerOutputMergeTest, RealtimeAudioOnlyStreamIsWrittenAtOnce) {
  makeOutput(0);
  runOn(w, [&] {
    for (int i = 0; i < 4; ++i) out->deliver(audio('a', 23 * i));
  });
  EXPECT_EQ(writes(), 4u);
  EXPECT_EQ(readPeer(), std::string(1200, 'a'));
}

TEST_F(ViewerOutputMergeTest, MergeHoldsFramesUntilTheWindowThenWritesOnce) {
  makeOutput(300);
  runOn(w, [&] {
    out->deliver(frame('K', 0, 1000, true));
    for (int i = 1; i < 5; ++i) out->deliver(frame('V', 40 * i, 1000));
  });
  EXPECT_EQ(writes(), 0u);
  EXPECT_EQ(readPeer(), "");
  std::this_thread::sleep_for(50ms);
  runOn(w, [&] { out->deliver(frame('V', 200, 1000)); });
  EXPECT_EQ(writes(), 0u) << "flushed before the merge window ended";
  std::this_thread::sleep_for(350ms);
  runOn(w, [&] { out->deliver(frame('A', 240, 500)); });
  EXPECT_EQ(writes(), 1u) << "the window's frames must leave in one writev";
  EXPECT_EQ(readPeer(), std::string(1000, 'K') + std::string(5000, 'V') + std::string(500, 'A'));
  // The next window starts with the next frame.
  runOn(w, [&] { out->deliver(frame('V', 280, 1000)); });
  EXPECT_EQ(writes(), 1u);
}

TEST_F(ViewerOutputMergeTest, MergeFlushesEarlyAboveTheByteThreshold) {
  makeOutput(300);
  const size_t big = ViewerOutput::kMergeFlushBytes / 2 + 1;
  runOn(w, [&] { out->deliver(frame('K', 0, big, true)); });
  EXPECT_EQ(writes(), 0u);
  runOn(w, [&] { out->deliver(frame('V', 40, big)); });
  EXPECT_GE(writes(), 1u) << "a queue above kMergeFlushBytes must be written at once";
  EXPECT_EQ(readPeer().size(), 2 * big);
}

TEST_F(ViewerOutputMergeTest, JoinIsWrittenAtOnceInMergeMode) {
  makeOutput(300);
  std::vector<MuxedBatch> gop = {frame('K', 0, 2000, true), frame('V', 40, 1000)};
  runOn(w, [&] { out->join(BufferRef::copyOf(std::string_view("HDR")), gop); });
  EXPECT_EQ(writes(), 1u) << "the keyframe join must not wait for the merge window";
  EXPECT_EQ(readPeer(), "HDR" + std::string(2000, 'K') + std::string(1000, 'V'));
}

}  // namespace
}  // namespace xl
