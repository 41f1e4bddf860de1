// Stream, StreamMirror and StreamRegistry with two real workers: the stream lives on worker A,
// viewers sit on A and B. Every owner-side call runs on A; every attach/detach on the viewer's own
// worker, as sessions do.
#include "xueliang/stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include "test_util.h"
#include "two_workers.h"

namespace xl {
namespace {

using test::runOn;
using ::testing::HasSubstr;

constexpr int64_t kFrameMs = 40;
constexpr int kGop = 10;  // a keyframe every 10 frames: key dts are multiples of 400

// Encodes the frame's dts (and kind) as the muxed bytes, and counts its calls.
class FakeMuxer : public Muxer {
 public:
  explicit FakeMuxer(std::shared_ptr<std::atomic<int>> calls) : calls_(std::move(calls)) {}
  BufferRef header(const MediaInfo& info) override {
    int w = info.video ? info.video->width : 0;
    return BufferRef::copyOf("HDR" + std::to_string(w));
  }
  BufferRef mux(const Frame& f, const MediaInfo&) override {
    ++*calls_;
    uint8_t bytes[9];
    bytes[0] = f.kind == MediaKind::kVideo ? 'V' : 'A';
    std::memcpy(bytes + 1, &f.dts, 8);
    return BufferRef::copyOf(bytes, sizeof(bytes));
  }

 private:
  std::shared_ptr<std::atomic<int>> calls_;
};

int64_t dtsOf(const MuxedBatch& b) {
  int64_t d = -1;
  if (b.bytes.size() == 9) std::memcpy(&d, b.bytes.data() + 1, 8);
  return d;
}

// Records what it receives; checks it is called on its own worker only.
class FakeViewer : public Viewer {
 public:
  FakeViewer(Worker& w, StreamPtr s = nullptr) : worker(w), stream(std::move(s)) {}
  void onJoin(const BufferRef& h, const std::vector<MuxedBatch>& g) override {
    std::lock_guard lk(mu);
    check();
    ++joins;
    header = std::string(h.view());
    for (auto& b : g) {
      if (dtsOf(b) != b.dts) corrupt = true;
      gop.push_back(b.dts);
      gopKey.push_back(b.key);
    }
  }
  void onBatch(const MuxedBatch& b) override {
    std::lock_guard lk(mu);
    check();
    if (joins == 0) batchBeforeJoin = true;
    if (dtsOf(b) != b.dts) corrupt = true;
    live.push_back(b.dts);
  }
  void onStreamEnd() override {
    {
      std::lock_guard lk(mu);
      check();
      ++ends;
    }
    // A real viewer session leaves the stream when it ends.
    if (stream && detachOnEnd) stream->detach(this, 0, worker);
  }
  void check() {
    if (!worker.inThisThread()) wrongThread = true;
  }
  std::vector<int64_t> all() {
    std::lock_guard lk(mu);
    auto v = gop;
    v.insert(v.end(), live.begin(), live.end());
    return v;
  }

  Worker& worker;
  StreamPtr stream;
  bool detachOnEnd = false;
  std::mutex mu;
  int joins = 0, ends = 0;
  std::string header;
  std::vector<int64_t> gop;
  std::vector<bool> gopKey;
  std::vector<int64_t> live;
  bool wrongThread = false, batchBeforeJoin = false, corrupt = false;
};

Frame videoFrame(int i, size_t size = 100) {
  Frame f;
  f.kind = MediaKind::kVideo;
  f.codec = Codec::kH264;
  f.dts = f.pts = i * kFrameMs;
  f.flags.key = i % kGop == 0;
  f.data = BufferRef::copyOf(std::string(size, 'v'));
  return f;
}

MediaInfoPtr videoInfo(int width) {
  auto m = std::make_shared<MediaInfo>();
  m->video = VideoTrack{};
  m->video->codec = Codec::kH264;
  m->video->width = width;
  return m;
}

std::vector<int64_t> range(int from, int to) {  // frame indices [from, to) as dts
  std::vector<int64_t> v;
  for (int i = from; i < to; ++i) v.push_back(i * kFrameMs);
  return v;
}

class StreamTest : public test::TwoWorkerTest {
 protected:
  StreamPtr publish(const std::string& name = "live/test") {
    auto r = registry.publish(name, a, PublisherInfo{"fake", "127.0.0.1:1"});
    EXPECT_TRUE(r) << r.message();
    StreamPtr s = r ? *r : nullptr;
    if (s) runOn(a, [&] { s->setMediaInfo(videoInfo(1)); });
    return s;
  }
  void push(const StreamPtr& s, int from, int to, size_t size = 100) {
    runOn(a, [&] {
      for (int i = from; i < to; ++i) s->pushFrame(videoFrame(i, size));
    });
  }
  void attach(const StreamPtr& s, FakeViewer& v) {
    runOn(v.worker, [&] { s->attach(&v, 0, v.worker); });
  }
  void detach(const StreamPtr& s, FakeViewer& v) {
    runOn(v.worker, [&] { s->detach(&v, 0, v.worker); });
  }
  std::shared_ptr<std::atomic<int>> muxCalls = std::make_shared<std::atomic<int>>(0);
  std::vector<OutputFormat> formats{
      {"fake", [c = muxCalls] { return std::make_unique<FakeMuxer>(c); }}};
  StreamRegistry registry{{&a, &b}, formats};
};

TEST_F(StreamTest, MidGopJoinGetsHeaderGopThenLive) {
  StreamPtr s = publish();
  push(s, 0, 15);  // keyframes at 0 and 10; 10..14 is the current GOP
  FakeViewer va(a), vb(b);
  attach(s, va);
  attach(s, vb);
  settle();
  push(s, 15, 35);
  settle();
  for (FakeViewer* v : {&va, &vb}) {
    SCOPED_TRACE(v == &va ? "viewer on owner worker" : "viewer on other worker");
    EXPECT_EQ(v->joins, 1);
    EXPECT_EQ(v->header, "HDR1");
    EXPECT_EQ(v->gop, range(10, 15));
    ASSERT_FALSE(v->gopKey.empty());
    EXPECT_TRUE(v->gopKey[0]);
    EXPECT_EQ(v->live, range(15, 35));
    EXPECT_FALSE(v->wrongThread);
    EXPECT_FALSE(v->batchBeforeJoin);
    EXPECT_FALSE(v->corrupt);
  }
  auto st = s->stats();
  ASSERT_EQ(st.viewers.size(), 1u);
  EXPECT_EQ(st.viewers[0], 2);
}

TEST_F(StreamTest, JoinWhileFramesFlowHasNoGapOrDuplicate) {
  StreamPtr s = publish();
  push(s, 0, 1);
  constexpr int kFrames = 400;
  std::atomic<bool> fed{false};
  std::thread feeder([&] {
    for (int i = 1; i < kFrames; ++i) {
      a.post([&s, i] { s->pushFrame(videoFrame(i)); });
      if (i % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    fed = true;
  });
  std::vector<std::unique_ptr<FakeViewer>> viewers;
  for (int k = 0; k < 16; ++k) {
    Worker& w = k % 2 ? b : a;
    viewers.push_back(std::make_unique<FakeViewer>(w));
    FakeViewer* v = viewers.back().get();
    w.post([&s, v, &w] { s->attach(v, 0, w); });
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  feeder.join();
  settle();
  for (size_t k = 0; k < viewers.size(); ++k) {
    SCOPED_TRACE("viewer " + std::to_string(k));
    FakeViewer& v = *viewers[k];
    EXPECT_EQ(v.joins, 1);
    EXPECT_FALSE(v.wrongThread);
    EXPECT_FALSE(v.batchBeforeJoin);
    auto seq = v.all();
    ASSERT_FALSE(seq.empty());
    // Starts on a keyframe, ends on the last frame, and steps exactly one frame at a time.
    EXPECT_EQ(seq.front() % (kGop * kFrameMs), 0) << "first frame " << seq.front();
    if (!v.gop.empty()) {
      EXPECT_TRUE(v.gopKey[0]);
    }
    EXPECT_EQ(seq.back(), (kFrames - 1) * kFrameMs);
    for (size_t i = 1; i < seq.size(); ++i) {
      ASSERT_EQ(seq[i], seq[i - 1] + kFrameMs) << "gap or duplicate at " << i;
    }
  }
}

TEST_F(StreamTest, MuxesOncePerFrameWhateverTheViewerCount) {
  auto muxCallsFor = [&](int viewers, const std::string& name) {
    StreamPtr s = publish(name);
    push(s, 0, 3);
    std::vector<std::unique_ptr<FakeViewer>> vs;
    for (int i = 0; i < viewers; ++i) {
      vs.push_back(std::make_unique<FakeViewer>(i % 2 ? b : a));
      attach(s, *vs.back());
    }
    settle();
    int before = muxCalls->load();  // priming muxed the cached GOP once
    push(s, 3, 23);
    settle();
    int calls = muxCalls->load() - before;
    for (auto& v : vs) EXPECT_EQ(v->all(), range(0, 23));
    runOn(a, [&] { s->end(); });
    settle();
    registry.remove(*s);
    return calls;
  };
  int one = muxCallsFor(1, "live/one");
  int fifty = muxCallsFor(50, "live/fifty");
  EXPECT_EQ(one, 20);
  EXPECT_EQ(fifty, 20);
}

TEST_F(StreamTest, NoMuxingWithoutViewers) {
  StreamPtr s = publish();
  push(s, 0, 30);
  EXPECT_EQ(muxCalls->load(), 0);
  FakeViewer v(b);
  attach(s, v);
  settle();
  EXPECT_EQ(muxCalls->load(), 10);  // priming: the cached GOP 20..29
  detach(s, v);
  settle();
  int before = muxCalls->load();
  push(s, 30, 40);
  EXPECT_EQ(muxCalls->load(), before);  // last viewer gone: muxing stops
}

TEST_F(StreamTest, DetachStopsDelivery) {
  StreamPtr s = publish();
  push(s, 0, 1);
  FakeViewer va(a), vb(b), stay(b);
  attach(s, va);
  attach(s, vb);
  attach(s, stay);
  settle();
  push(s, 1, 6);
  settle();
  detach(s, va);
  detach(s, vb);
  settle();
  push(s, 6, 12);
  settle();
  EXPECT_EQ(va.all(), range(0, 6));
  EXPECT_EQ(vb.all(), range(0, 6));
  EXPECT_EQ(stay.all(), range(0, 12));
  EXPECT_EQ(s->stats().viewers[0], 1);
}

// A viewer that leaves from inside onBatch (its socket failed) must not disturb the others.
TEST_F(StreamTest, DetachInsideOnBatchIsSafe) {
  StreamPtr s = publish();
  push(s, 0, 1);
  struct Leaver : FakeViewer {
    using FakeViewer::FakeViewer;
    void onBatch(const MuxedBatch& batch) override {
      FakeViewer::onBatch(batch);
      if (batch.dts == 3 * kFrameMs) stream->detach(this, 0, worker);
    }
  };
  FakeViewer first(b);
  Leaver leaver(b, s);
  FakeViewer last(b);
  attach(s, first);
  attach(s, leaver);
  attach(s, last);
  settle();
  push(s, 1, 8);
  settle();
  EXPECT_EQ(first.all(), range(0, 8));
  EXPECT_EQ(leaver.all(), range(0, 4));
  EXPECT_EQ(last.all(), range(0, 8));
}

TEST_F(StreamTest, EndNotifiesEveryViewer) {
  StreamPtr s = publish();
  push(s, 0, 5);
  std::vector<std::unique_ptr<FakeViewer>> vs;
  for (int i = 0; i < 6; ++i) {
    vs.push_back(std::make_unique<FakeViewer>(i % 2 ? b : a, s));
    vs.back()->detachOnEnd = true;
    attach(s, *vs.back());
  }
  settle();
  runOn(a, [&] {
    s->end();
    EXPECT_TRUE(s->ended());
    s->pushFrame(videoFrame(5));  // ignored after the end
  });
  settle();
  for (auto& v : vs) {
    EXPECT_EQ(v->ends, 1);
    EXPECT_FALSE(v->wrongThread);
    EXPECT_EQ(v->all(), range(0, 5));
  }
  EXPECT_EQ(s->stats().viewers[0], 0);
}

// A viewer that found the stream in the registry just before the publisher left attaches to an
// ended stream: it must be told the stream ended, or it waits forever for data.
TEST_F(StreamTest, AttachAfterEndGetsStreamEnd) {
  StreamPtr s = publish();
  push(s, 0, 5);
  runOn(a, [&] { s->end(); });
  settle();
  FakeViewer vb(b), va(a);
  attach(s, vb);
  attach(s, va);
  settle();
  EXPECT_EQ(vb.ends, 1) << "viewer on another worker attached after end() never got onStreamEnd";
  EXPECT_EQ(va.ends, 1) << "viewer on the owner worker attached after end() never got onStreamEnd";
}

// New codec parameters invalidate the cached GOP: a viewer arriving then is not joined until the
// next keyframe, and then starts on it with the new header.
TEST_F(StreamTest, SetMediaInfoClearsGopCache) {
  StreamPtr s = publish();
  push(s, 0, 15);
  FakeViewer before(b);
  attach(s, before);
  settle();
  runOn(a, [&] { s->setMediaInfo(videoInfo(2)); });
  push(s, 15, 18);  // non-key frames after the change
  FakeViewer after(b);
  attach(s, after);
  settle();
  EXPECT_EQ(after.joins, 0) << "joined with nothing to start on";
  push(s, 18, 20);
  settle();
  EXPECT_EQ(after.joins, 0);
  EXPECT_TRUE(after.live.empty());
  push(s, 20, 23);  // keyframe at 20
  settle();
  EXPECT_EQ(after.joins, 1);
  EXPECT_EQ(after.header, "HDR2");  // the new parameters
  ASSERT_FALSE(after.gop.empty());
  EXPECT_EQ(after.gop.front(), 20 * kFrameMs);
  EXPECT_TRUE(after.gopKey.front());
  EXPECT_EQ(after.all(), range(20, 23));
  EXPECT_FALSE(after.batchBeforeJoin);
  FakeViewer later(a);
  attach(s, later);
  settle();
  EXPECT_EQ(later.header, "HDR2");
  EXPECT_EQ(later.gop, range(20, 23));
  // The viewer that was there all along saw every frame.
  EXPECT_EQ(before.all(), range(10, 23));
}

// A viewer that leaves while waiting for a keyframe is never joined or delivered to.
TEST_F(StreamTest, DetachWhileWaitingForKeyframe) {
  StreamPtr s = publish();
  runOn(a, [&] { s->setMediaInfo(videoInfo(3)); });
  FakeViewer gone(b), stays(b);
  attach(s, gone);
  attach(s, stays);
  settle();
  detach(s, gone);
  settle();
  push(s, 0, 3);
  settle();
  EXPECT_EQ(gone.joins, 0);
  EXPECT_TRUE(gone.all().empty());
  EXPECT_EQ(stays.joins, 1);
  EXPECT_EQ(stays.all(), range(0, 3));
  EXPECT_EQ(s->stats().viewers[0], 1);
}

TEST_F(StreamTest, OversizedGopIsNotCached) {
  registry.setLimits(StreamLimits{1000});
  StreamPtr s = publish();
  FakeViewer early(b);
  push(s, 0, 1, 300);
  attach(s, early);
  settle();
  push(s, 1, 5, 300);  // 1200 bytes by frame 3: over the limit
  FakeViewer mid(b);
  attach(s, mid);
  settle();
  EXPECT_EQ(mid.joins, 0) << "joined on a GOP that is not cached";
  push(s, 5, 10, 300);
  FakeViewer stillMid(a);
  attach(s, stillMid);
  settle();
  EXPECT_EQ(stillMid.joins, 0) << "cache resumed before the next keyframe";
  push(s, 10, 12, 300);  // new keyframe: cached again, the waiting viewers join on it
  FakeViewer next(a);
  attach(s, next);
  settle();
  EXPECT_EQ(next.gop, range(10, 12));
  EXPECT_EQ(mid.all(), range(10, 12));
  EXPECT_EQ(stillMid.all(), range(10, 12));
  EXPECT_EQ(early.all(), range(0, 12));  // live delivery is unaffected by the cache
}

TEST_F(StreamTest, FrameRateFromMediaTime) {
  StreamPtr s = publish();
  push(s, 0, 60);  // 25 fps: 40 ms apart
  EXPECT_NEAR(s->stats().fps, 25.0, 0.01);
}

TEST_F(StreamTest, FrameSinksSeeEveryFrame) {
  struct Sink : FrameSink {
    std::vector<int64_t>* seen;
    int* ends;
    MediaInfoPtr* info;
    void onMediaInfo(const MediaInfoPtr& m) override { *info = m; }
    void onFrame(const Frame& f) override { seen->push_back(f.dts); }
    void onStreamEnd() override { ++*ends; }
  };
  std::vector<int64_t> seen;
  int ends = 0;
  MediaInfoPtr info;
  StreamPtr s = publish();
  runOn(a, [&] {
    auto sink = std::make_unique<Sink>();
    sink->seen = &seen;
    sink->ends = &ends;
    sink->info = &info;
    s->addFrameSink(std::move(sink));
  });
  push(s, 0, 7);
  ASSERT_TRUE(info && info->video);
  EXPECT_EQ(info->video->width, 1);
  // A codec change mid-stream reaches the sink too.
  runOn(a, [&] { s->setMediaInfo(videoInfo(2)); });
  ASSERT_TRUE(info && info->video);
  EXPECT_EQ(info->video->width, 2);
  runOn(a, [&] { s->end(); });
  EXPECT_EQ(seen, range(0, 7));
  EXPECT_EQ(ends, 1);
}

TEST_F(StreamTest, RegistryRefusesDuplicateAndRemoves) {
  StreamPtr s = publish("town1/gate");
  auto dup = registry.publish("town1/gate", b, PublisherInfo{"rtmp", "10.0.0.9:5000"});
  ASSERT_FALSE(dup);
  EXPECT_THAT(dup.message(), HasSubstr("town1/gate"));
  EXPECT_EQ(registry.find("town1/gate"), s);
  EXPECT_EQ(registry.list().size(), 1u);
  EXPECT_EQ(registry.find("town1/other"), nullptr);

  registry.remove(*s);
  EXPECT_EQ(registry.find("town1/gate"), nullptr);
  auto again = registry.publish("town1/gate", b, PublisherInfo{"rtmp", "10.0.0.9:5000"});
  ASSERT_TRUE(again) << again.message();
  EXPECT_EQ(&(*again)->owner(), &b);
  // Removing the old stream object must not remove its successor.
  registry.remove(*s);
  EXPECT_EQ(registry.find("town1/gate"), *again);
  EXPECT_TRUE(registry.list().size() == 1u);
}

}  // namespace
}  // namespace xl
