// ViewerOutput's back-pressure policy over a real TcpConnection: a Unix socketpair with a small
// send buffer, on a worker's loop. The peer end is read (or not) by the test on the same worker.
#include "xueliang/viewer_output.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "connection_fixture.h"
#include "test_util.h"

namespace xl {
namespace {

using namespace std::chrono_literals;
using test::runOn;

// Each batch is a self-describing record, so the peer can tell exactly what arrived:
// [u32 length][u8 type][i64 dts][padding]. Types: H header, C config, K keyframe, V video, A audio.
constexpr size_t kRecordHead = 13;

BufferRef record(char type, int64_t dts, size_t size) {
  std::string s(std::max(size, kRecordHead), 'p');
  uint32_t len = static_cast<uint32_t>(s.size());
  std::memcpy(s.data(), &len, 4);
  s[4] = type;
  std::memcpy(s.data() + 5, &dts, 8);
  return BufferRef::copyOf(s);
}

MuxedBatch batch(char type, int64_t dts, size_t size) {
  MuxedBatch b;
  b.bytes = record(type, dts, size);
  b.dts = dts;
  b.kind = type == 'A' ? MediaKind::kAudio : MediaKind::kVideo;
  b.key = type == 'K';
  b.config = type == 'C';
  return b;
}

struct Record {
  char type;
  int64_t dts;
};

class ViewerOutputTest : public test::ConnectionFixture {
 protected:
  ViewerOutputTest() : ConnectionFixture(4096) {}
  // Worker thread only. Reads what the peer has, without letting the connection write more.
  void readPeer() {
    uint8_t buf[65536];
    for (;;) {
      ssize_t n = ::read(peer, buf, sizeof(buf));
      if (n <= 0) break;
      received.append(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
    }
  }
  // Worker thread only. The peer reads until the connection's queue is empty.
  void drainPeer() {
    for (int i = 0; i < 100000 && conn->queuedBytes() > 0; ++i) {
      readPeer();
      conn->flush();
    }
    readPeer();
    ASSERT_EQ(conn->queuedBytes(), 0u);
  }
  std::vector<Record> records() {
    std::vector<Record> out;
    size_t pos = 0;
    while (received.size() - pos >= kRecordHead) {
      uint32_t len;
      std::memcpy(&len, received.data() + pos, 4);
      Record r{received[pos + 4], 0};
      std::memcpy(&r.dts, received.data() + pos + 5, 8);
      EXPECT_GE(len, kRecordHead);
      if (received.size() - pos < len) break;
      out.push_back(r);
      pos += len;
    }
    EXPECT_EQ(pos, received.size()) << "torn record";
    return out;
  }
  bool aboveHigh() const {
    return conn->queuedBytes() > limits.highWatermarkBytes ||
           conn->queuedMediaMs() > limits.highWatermarkMs;
  }

  std::string received;
};

// Checks the drop policy for one delivery against the state just before it.
struct PolicyCheck {
  int configDropped = 0, audioWrong = 0, videoAboveAdmitted = 0, drops = 0;
};

void deliverChecked(ViewerOutput& out, TcpConnection& conn, const MuxedBatch& b, bool above,
                    PolicyCheck& pc) {
  uint64_t d0 = out.drops();
  out.deliver(b);
  bool dropped = out.drops() != d0;
  pc.drops += dropped;
  if (b.config && dropped) ++pc.configDropped;
  if (b.kind == MediaKind::kAudio && dropped != above) ++pc.audioWrong;
  if (b.kind == MediaKind::kVideo && !b.config && above && !dropped) ++pc.videoAboveAdmitted;
}

// After a video frame went missing, the next video frame received must be a keyframe.
void expectVideoResumesOnKeyframes(const std::vector<Record>& recs, int64_t frameMs) {
  int64_t lastVideo = -1;
  int resumes = 0;
  for (const Record& r : recs) {
    if (r.type != 'K' && r.type != 'V') continue;
    if (lastVideo >= 0) {
      ASSERT_GT(r.dts, lastVideo) << "video out of order";
      if (r.dts != lastVideo + frameMs) {
        EXPECT_EQ(r.type, 'K') << "video resumed at dts " << r.dts << " after " << lastVideo
                               << " on a non-key frame";
        ++resumes;
      }
    }
    lastVideo = r.dts;
  }
  EXPECT_GT(resumes, 0) << "the scenario never dropped video";
}

TEST_F(ViewerOutputTest, QueuedBytesStayNearHighWatermark) {
  makeOutput(ViewerLimits{1'000'000, 64 * 1024, 1000});
  constexpr size_t kVideo = 8 * 1024, kAudio = 400;
  PolicyCheck pc;
  size_t maxQueued = 0;
  int configs = 0;
  runOn(w, [&] {
    out->join(record('H', -1, 100), {batch('K', 0, kVideo)});
    for (int i = 1; i < 600; ++i) {
      int64_t dts = i * 40;
      if (i % 100 == 0) {
        size_t q0 = conn->queuedBytes();
        deliverChecked(*out, *conn, batch('C', dts, 3000), aboveHigh(), pc);
        EXPECT_GE(conn->queuedBytes(), q0);
        ++configs;
      }
      deliverChecked(*out, *conn, batch(i % 25 ? 'V' : 'K', dts, kVideo), aboveHigh(), pc);
      maxQueued = std::max(maxQueued, conn->queuedBytes());
      deliverChecked(*out, *conn, batch('A', dts, kAudio), aboveHigh(), pc);
      maxQueued = std::max(maxQueued, conn->queuedBytes());
      // The peer catches up now and then, far slower than the stream.
      if (i % 50 == 0) drainPeer();
    }
  });
  EXPECT_EQ(pc.configDropped, 0);
  EXPECT_EQ(pc.audioWrong, 0);
  EXPECT_EQ(pc.videoAboveAdmitted, 0);
  EXPECT_GT(pc.drops, 500);
  EXPECT_EQ(static_cast<uint64_t>(pc.drops), out->drops());
  // At most one batch past the watermark, plus any config batches (never dropped).
  EXPECT_LE(maxQueued, 64 * 1024 + kVideo + configs * 3000);
  EXPECT_GT(maxQueued, 64 * 1024 / 2);
  EXPECT_EQ(w.stats().viewerDrops.get(), out->drops());

  runOn(w, [&] { drainPeer(); });
  auto recs = records();
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs[0].type, 'H');
  int configsSeen = 0;
  for (auto& r : recs) configsSeen += r.type == 'C';
  EXPECT_EQ(configsSeen, configs);
  expectVideoResumesOnKeyframes(recs, 40);
}

TEST_F(ViewerOutputTest, QueuedMediaTimeStaysNearHighWatermark) {
  makeOutput(ViewerLimits{500, 64 << 20, 1000});
  PolicyCheck pc;
  int64_t maxMediaMs = 0;
  runOn(w, [&] {
    out->join(record('H', -1, 100), {batch('K', 0, 2000)});
    for (int i = 1; i < 500; ++i) {
      int64_t dts = i * 40;
      deliverChecked(*out, *conn, batch(i % 25 ? 'V' : 'K', dts, 2000), aboveHigh(), pc);
      maxMediaMs = std::max(maxMediaMs, conn->queuedMediaMs());
      deliverChecked(*out, *conn, batch('A', dts + 20, 300), aboveHigh(), pc);
      maxMediaMs = std::max(maxMediaMs, conn->queuedMediaMs());
      if (i % 40 == 0) drainPeer();
    }
  });
  EXPECT_EQ(pc.audioWrong, 0);
  EXPECT_EQ(pc.videoAboveAdmitted, 0);
  EXPECT_GT(pc.drops, 200);
  EXPECT_LE(maxMediaMs, 500 + 40);
  EXPECT_GT(maxMediaMs, 250);
  runOn(w, [&] { drainPeer(); });
  expectVideoResumesOnKeyframes(records(), 40);
}

TEST_F(ViewerOutputTest, AfterDrainResumesOnlyAtNextKeyframe) {
  makeOutput(ViewerLimits{1'000'000, 32 * 1024, 1000});
  runOn(w, [&] {
    out->join(record('H', -1, 50), {batch('K', 0, 4000)});
    int i = 1;
    while (out->drops() == 0 && i < 1000) {
      out->deliver(batch('V', i * 40, 4000));
      ++i;
    }
    ASSERT_GT(out->drops(), 0u) << "queue never went above the watermark";
    // Config batches pass while above.
    uint64_t d = out->drops();
    out->deliver(batch('C', i * 40, 500));
    EXPECT_EQ(out->drops(), d);

    drainPeer();
    received.clear();
    int64_t t = 100000;
    d = out->drops();
    out->deliver(batch('V', t, 1000));  // below the watermark, but not a keyframe: dropped
    EXPECT_EQ(out->drops(), d + 1);
    out->deliver(batch('A', t + 10, 200));  // audio flows again at once
    EXPECT_EQ(out->drops(), d + 1);
    out->deliver(batch('V', t + 40, 1000));  // still waiting for a keyframe
    EXPECT_EQ(out->drops(), d + 2);
    out->deliver(batch('K', t + 80, 1000));  // resumes here
    out->deliver(batch('V', t + 120, 1000));
    out->deliver(batch('A', t + 130, 200));
    EXPECT_EQ(out->drops(), d + 2);
    drainPeer();
  });
  auto recs = records();
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].type, 'A');
  EXPECT_EQ(recs[1].type, 'K');
  EXPECT_EQ(recs[1].dts, 100080);
  EXPECT_EQ(recs[2].type, 'V');
  EXPECT_EQ(recs[2].dts, 100120);
  EXPECT_EQ(recs[3].type, 'A');
}

// Fills the connection's queue well past what the socket takes; the peer does not read.
void fill(ViewerOutput& out, int from, int count) {
  for (int i = from; i < from + count; ++i) out.deliver(batch(i % 25 ? 'V' : 'K', i * 40, 4000));
}

TEST_F(ViewerOutputTest, StalledAfterTimeoutWithoutProgress) {
  makeOutput(ViewerLimits{1'000'000, 1 << 20, 1000});
  uint64_t filledAt = 0;
  runOn(w, [&] {
    out->join({}, {batch('K', 0, 4000)});
    fill(*out, 1, 20);
    ASSERT_GT(conn->queuedBytes(), 0u);
    filledAt = w.nowMs();
    EXPECT_FALSE(out->stalled(w.nowMs()));
    // The timeout is measured from the last progress.
    EXPECT_FALSE(out->stalled(conn->lastProgressMs() + 1000));
    EXPECT_TRUE(out->stalled(conn->lastProgressMs() + 1001));
  });
  std::this_thread::sleep_for(1100ms);
  runOn(w, [&] {
    uv_update_time(w.loop());
    EXPECT_GE(w.nowMs() - filledAt, 1000u);
    EXPECT_TRUE(out->stalled(w.nowMs()));
    drainPeer();  // the peer reads everything: nothing waits, so no stall
    EXPECT_FALSE(out->stalled(w.nowMs()));
    EXPECT_FALSE(out->stalled(w.nowMs() + 100000));
  });
}

TEST_F(ViewerOutputTest, ProgressPostponesStall) {
  makeOutput(ViewerLimits{1'000'000, 1 << 20, 1000});
  runOn(w, [&] {
    out->join({}, {batch('K', 0, 4000)});
    fill(*out, 1, 40);
  });
  std::this_thread::sleep_for(600ms);
  runOn(w, [&] {
    uv_update_time(w.loop());
    readPeer();  // some progress, but far from all
    conn->flush();
    EXPECT_GT(conn->queuedBytes(), 0u);
  });
  std::this_thread::sleep_for(600ms);
  runOn(w, [&] {
    uv_update_time(w.loop());
    EXPECT_FALSE(out->stalled(w.nowMs())) << "progress 600 ms ago, timeout 1000 ms";
    EXPECT_TRUE(out->stalled(w.nowMs() + 500));
  });
}

// A viewer that took one track of a stream whose video batches carry coalesced audio gets that
// track's bytes only, with the drop policy applied to what it gets.
TEST_F(ViewerOutputTest, DeliverTrackSendsOnlyThatTracksPart) {
  makeOutput(ViewerLimits{1'000'000, 1 << 20, 10'000});
  auto joined = [](int64_t dts, char video) {
    BufferWriter w(512);
    BufferRef a = record('A', dts - 20, 40), v = record(video, dts, 200);
    w.append(a.span());
    w.append(v.span());
    MuxedBatch b;
    b.bytes = w.freeze();
    b.dts = dts;
    b.kind = MediaKind::kVideo;
    b.key = video == 'K';
    b.audioBytes = static_cast<uint32_t>(a.size());
    return b;
  };
  runOn(w, [&] {
    out->deliverTrack(joined(40, 'K'), MediaKind::kVideo);
    out->deliverTrack(joined(80, 'V'), MediaKind::kVideo);
    out->deliverTrack(batch('A', 90, 40), MediaKind::kVideo);  // not this viewer's track
    out->flushPending();
    drainPeer();
  });
  std::vector<Record> recs = records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].type, 'K');
  EXPECT_EQ(recs[0].dts, 40);
  EXPECT_EQ(recs[1].type, 'V');
  EXPECT_EQ(recs[1].dts, 80);

  received.clear();
  runOn(w, [&] {
    out->deliverTrack(joined(120, 'V'), MediaKind::kAudio);
    out->deliverTrack(batch('A', 130, 40), MediaKind::kAudio);
    out->deliverTrack(batch('V', 160, 200), MediaKind::kAudio);  // not this viewer's track
    out->flushPending();
    drainPeer();
  });
  recs = records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].type, 'A');
  EXPECT_EQ(recs[0].dts, 100);
  EXPECT_EQ(recs[1].type, 'A');
  EXPECT_EQ(recs[1].dts, 130);
  EXPECT_EQ(out->drops(), 0u);
}

}  // namespace
}  // namespace xl
