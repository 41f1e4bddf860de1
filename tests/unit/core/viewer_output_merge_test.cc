// Write batching in ViewerOutput over a real TcpConnection (a Unix socketpair on a worker): in
// realtime mode the frames delivered in one loop iteration leave in one writev at its end; in
// merge mode frames wait for the merge
// window (or the byte threshold) and leave together, while a join is written at once.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
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
  // Returns once the worker's current loop iteration has ended, and with it the realtime flushes
  // scheduled in it (the end-of-iteration list runs in order, this mark last).
  void endOfIteration() {
    struct Mark : FlushTimer::Entry {
      std::promise<void> done;
      void onDue() override { done.set_value(); }
    } mark;
    auto fired = mark.done.get_future();
    runOn(w, [&] { w.flushTimer().scheduleSoon(mark); });
    fired.wait();
  }
  // writes() once it reaches `n` (or after 3 s): the flush timer may run late on a busy machine.
  uint64_t waitWrites(uint64_t n) {
    for (int i = 0; i < 300 && writes() < n; ++i) std::this_thread::sleep_for(10ms);
    return writes();
  }
};

TEST_F(ViewerOutputMergeTest, RealtimeFramesOfOneIterationLeaveInOneWrite) {
  makeOutput(0);
  uint64_t during = 1;
  // Five frames in one iteration, as from one read of an encoder that sends several at once.
  runOn(w, [&] {
    out->deliver(frame('K', 0, 1000, true));
    for (int i = 1; i < 5; ++i) out->deliver(frame('V', 40 * i, 1000));
    during = conn->writeCalls();
  });
  EXPECT_EQ(during, 0u) << "written before the end of the iteration";
  endOfIteration();
  EXPECT_EQ(writes(), 1u);
  EXPECT_EQ(readPeer(), std::string(1000, 'K') + std::string(4000, 'V'));
  // Frames of separate iterations are not held for each other.
  runOn(w, [&] { out->deliver(frame('V', 200, 1000)); });
  endOfIteration();
  EXPECT_EQ(writes(), 2u);
  runOn(w, [&] { out->deliver(frame('V', 240, 1000)); });
  endOfIteration();
  EXPECT_EQ(writes(), 3u);
  EXPECT_EQ(readPeer(), std::string(2000, 'V'));
}

MuxedBatch audio(char tag, int64_t dts) {
  return frame(tag, dts, 300, false, MediaKind::kAudio);
}

TEST_F(ViewerOutputMergeTest, RealtimeAudioRidesWithTheNextVideoFrame) {
  makeOutput(0);
  runOn(w, [&] { out->deliver(frame('K', 0, 1000, true)); });
  endOfIteration();
  EXPECT_EQ(writes(), 1u);
  runOn(w, [&] {
    out->deliver(audio('a', 10));
    out->deliver(audio('b', 33));
  });
  endOfIteration();
  EXPECT_EQ(writes(), 1u) << "audio must wait for the next video frame";
  runOn(w, [&] { out->deliver(frame('V', 40, 1000)); });
  endOfIteration();
  EXPECT_EQ(writes(), 2u);
  EXPECT_EQ(readPeer(), std::string(1000, 'K') + std::string(300, 'a') + std::string(300, 'b') +
                            std::string(1000, 'V'));
  // Video that pauses does not hold audio back for longer than kAudioHoldMs: the worker's
  // flush timer writes it even though no other frame arrives.
  runOn(w, [&] { out->deliver(audio('c', 60)); });
  endOfIteration();
  EXPECT_EQ(writes(), 2u);
  EXPECT_EQ(waitWrites(3), 3u);
  EXPECT_EQ(readPeer(), std::string(300, 'c'));
}

TEST_F(ViewerOutputMergeTest, CoalescedBatchIsOneWriteOfOneIovec) {
  makeOutput(0);
  MuxedBatch b = frame('K', 40, 1000, true);
  b.bytes = BufferRef::copyOf(std::string(300, 'a') + std::string(1000, 'K'));
  b.audioBytes = 300;
  runOn(w, [&] { out->deliver(b); });
  endOfIteration();
  EXPECT_EQ(writes(), 1u);
  uint64_t iovecs = 0;
  runOn(w, [&] { iovecs = conn->iovecsWritten(); });
  EXPECT_EQ(iovecs, 1u);
  EXPECT_EQ(readPeer(), std::string(300, 'a') + std::string(1000, 'K'));
}

TEST_F(ViewerOutputMergeTest, SkippedVideoStillDeliversTheAudioRidingWithIt) {
  makeOutput(0);
  // A viewer that has not had its keyframe skips video, but the audio part still plays.
  MuxedBatch b = frame('V', 40, 1000);
  b.bytes = BufferRef::copyOf(std::string(300, 'a') + std::string(1000, 'V'));
  b.audioBytes = 300;
  runOn(w, [&] { out->deliver(b); });
  endOfIteration();
  EXPECT_EQ(readPeer(), std::string(300, 'a'));
  uint64_t drops = 0;
  runOn(w, [&] { drops = out->drops(); });
  EXPECT_EQ(drops, 1u);
  runOn(w, [&] { out->deliver(frame('K', 80, 1000, true)); });
  endOfIteration();
  EXPECT_EQ(readPeer(), std::string(1000, 'K'));
}

TEST_F(ViewerOutputMergeTest, RealtimeAudioOnlyStreamIsNotHeld) {
  makeOutput(0);
  runOn(w, [&] {
    for (int i = 0; i < 4; ++i) out->deliver(audio('a', 23 * i));
  });
  endOfIteration();
  EXPECT_EQ(writes(), 1u);
  runOn(w, [&] { out->deliver(audio('b', 92)); });
  endOfIteration();
  EXPECT_EQ(writes(), 2u) << "audio without video must not wait for a video frame";
  EXPECT_EQ(readPeer(), std::string(1200, 'a') + std::string(300, 'b'));
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
  // No further frame: the worker's flush timer closes the window.
  EXPECT_EQ(waitWrites(1), 1u)
      << "the window's frames must leave in one writev, without a new frame";
  EXPECT_EQ(readPeer(), std::string(1000, 'K') + std::string(5000, 'V'));
  // The next window starts with the next frame.
  runOn(w, [&] { out->deliver(frame('V', 280, 1000)); });
  EXPECT_EQ(writes(), 1u);
}

TEST_F(ViewerOutputMergeTest, MergeDeliveryAfterTheWindowFlushesBeforeTheTimer) {
  makeOutput(300);
  // Both frames are delivered in one loop iteration whose clock already passed the window (the
  // timer has had no chance to run): the second delivery writes the window itself.
  runOn(w, [&] {
    out->deliver(frame('K', 0, 1000, true));
    std::this_thread::sleep_for(320ms);
    uv_update_time(w.loop());
    out->deliver(frame('V', 40, 1000));
  });
  EXPECT_EQ(writes(), 1u);
  EXPECT_EQ(readPeer(), std::string(1000, 'K') + std::string(1000, 'V'));
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(writes(), 1u) << "the timer wrote again with nothing pending";
}

TEST_F(ViewerOutputMergeTest, DestroyedWhilePendingLeavesTheTimer) {
  makeOutput(100);
  size_t scheduled = 0;
  runOn(w, [&] {
    out->deliver(frame('K', 0, 1000, true));
    scheduled = w.flushTimer().size();
    out.reset();
  });
  EXPECT_EQ(scheduled, 1u);
  size_t after = 1;
  runOn(w, [&] { after = w.flushTimer().size(); });
  EXPECT_EQ(after, 0u);
  std::this_thread::sleep_for(200ms);  // the timer, if still armed, must find nothing to flush
  EXPECT_EQ(writes(), 0u);
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
