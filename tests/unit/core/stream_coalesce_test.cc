// Audio coalescing (OutputFormat::coalesceAudio): the stream holds a format's audio batches and
// sends them in one buffer with the next video frame; a viewer joining meanwhile gets each frame
// once; audio waits at most Stream::kAudioHoldMs and never outlives the stream's end.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"
#include "two_workers.h"
#include "xueliang/stream.h"

namespace xl {
namespace {

using namespace std::chrono_literals;
using test::runOn;

// "A<dts>;" or "V<dts>;": concatenated batches stay readable.
class TextMuxer : public Muxer {
 public:
  BufferRef header(const MediaInfo&) override { return BufferRef::copyOf(std::string_view("H;")); }
  BufferRef mux(const Frame& f, const MediaInfo&) override {
    return BufferRef::copyOf((f.kind == MediaKind::kVideo ? "V" : "A") + std::to_string(f.dts) +
                             ";");
  }
};

struct Batch {
  std::string bytes;
  MediaKind kind;
  bool key;
  uint32_t audioBytes;
};

class Recorder : public Viewer {
 public:
  explicit Recorder(Worker& w) : worker(w) {}
  void onJoin(const BufferRef&, const std::vector<MuxedBatch>& gop) override {
    std::lock_guard lk(mu);
    for (auto& b : gop) joined += std::string(b.bytes.view());
  }
  void onBatch(const MuxedBatch& b) override {
    std::lock_guard lk(mu);
    live.push_back({std::string(b.bytes.view()), b.kind, b.key, b.audioBytes});
  }
  void onStreamEnd() override {
    std::lock_guard lk(mu);
    ended = true;
  }
  std::string all() {
    std::lock_guard lk(mu);
    std::string s = joined;
    for (auto& b : live) s += b.bytes;
    return s;
  }
  Worker& worker;
  std::mutex mu;
  std::string joined;
  std::vector<Batch> live;
  bool ended = false;
};

Frame frame(MediaKind kind, int64_t dts, bool key = false) {
  Frame f;
  f.kind = kind;
  f.codec = kind == MediaKind::kVideo ? Codec::kH264 : Codec::kAAC;
  f.dts = f.pts = dts;
  f.flags.key = key;
  f.data = BufferRef::copyOf(std::string(10, 'x'));
  return f;
}

class StreamCoalesceTest : public test::TwoWorkerTest {
 protected:
  StreamPtr publish(bool withVideo = true) {
    auto r = registry.publish("live/c", a, PublisherInfo{"fake", "127.0.0.1:1"});
    EXPECT_TRUE(r);
    StreamPtr s = *r;
    auto m = std::make_shared<MediaInfo>();
    if (withVideo) {
      m->video.emplace();
      m->video->codec = Codec::kH264;
    }
    m->audio.emplace();
    m->audio->codec = Codec::kAAC;
    runOn(a, [&] { s->setMediaInfo(m); });
    return s;
  }
  void push(const StreamPtr& s, std::vector<Frame> frames) {
    runOn(a, [&] {
      for (auto& f : frames) s->pushFrame(f);
    });
  }
  void attach(const StreamPtr& s, Recorder& v) {
    runOn(v.worker, [&] { s->attach(&v, 0, v.worker); });
    test::settle(3, a, b);
  }
  // A stream with video, viewer `v` attached after its keyframe, and audio A10 held.
  StreamPtr publishHoldingAudio(Recorder& v) {
    StreamPtr s = publish();
    push(s, {frame(V, 0, true)});
    attach(s, v);
    push(s, {frame(A, 10)});
    return s;
  }

  static std::vector<OutputFormat> textFormat() {
    OutputFormat f;
    f.name = "text";
    f.createMuxer = [] { return std::make_unique<TextMuxer>(); };
    f.coalesceAudio = true;
    return {f};
  }
  std::vector<OutputFormat> formats = textFormat();
  StreamRegistry registry{{&a, &b}, formats};
  const MediaKind V = MediaKind::kVideo, A = MediaKind::kAudio;
};

TEST_F(StreamCoalesceTest, AudioRidesWithTheNextVideoFrameInOneBatch) {
  StreamPtr s = publish();
  push(s, {frame(V, 0, true)});
  Recorder va(a), vb(b);
  attach(s, va);
  attach(s, vb);
  push(s, {frame(A, 10), frame(A, 30), frame(V, 40)});
  settle();
  for (Recorder* v : {&va, &vb}) {
    SCOPED_TRACE(v == &va ? "owner worker" : "other worker");
    EXPECT_EQ(v->joined, "V0;");
    ASSERT_EQ(v->live.size(), 1u) << "audio must not travel on its own";
    EXPECT_EQ(v->live[0].bytes, "A10;A30;V40;");
    EXPECT_EQ(v->live[0].kind, MediaKind::kVideo);
    EXPECT_FALSE(v->live[0].key);
    EXPECT_EQ(v->live[0].audioBytes, 8u);
  }
  // The GOP cache keeps the frames one by one, in order, once each.
  Recorder late(b);
  attach(s, late);
  EXPECT_EQ(late.joined, "V0;A10;A30;V40;");
}

TEST_F(StreamCoalesceTest, ViewerJoiningWhileAudioIsHeldGetsEachFrameOnce) {
  StreamPtr s = publish();
  Recorder first(a), second(b);
  push(s, {frame(V, 0, true)});
  attach(s, first);
  push(s, {frame(A, 10)});
  attach(s, second);  // A10 is held: not in second's GOP, it comes with V40
  push(s, {frame(V, 40), frame(A, 50), frame(V, 80)});
  settle();
  EXPECT_EQ(first.all(), "V0;A10;V40;A50;V80;");
  EXPECT_EQ(second.all(), "V0;A10;V40;A50;V80;");
  EXPECT_EQ(second.joined, "V0;");
}

TEST_F(StreamCoalesceTest, KeyframeStartsTheGopAfterTheAudioItCarries) {
  StreamPtr s = publish();
  Recorder v(a);
  push(s, {frame(V, 0, true)});
  attach(s, v);
  push(s, {frame(A, 370), frame(V, 400, true)});
  settle();
  ASSERT_EQ(v.live.size(), 1u);
  EXPECT_EQ(v.live[0].bytes, "A370;V400;");
  EXPECT_TRUE(v.live[0].key);
  Recorder late(b);
  attach(s, late);
  EXPECT_EQ(late.joined, "V400;") << "a GOP starts on its keyframe";
}

TEST_F(StreamCoalesceTest, AudioWaitsAtMostTheHoldWhenVideoPauses) {
  Recorder v(b);
  StreamPtr s = publishHoldingAudio(v);
  std::this_thread::sleep_for(std::chrono::milliseconds(Stream::kAudioHoldMs + 20));
  push(s, {frame(A, 33)});  // the held audio is now too old: both leave, as audio
  settle();
  ASSERT_EQ(v.live.size(), 1u);
  EXPECT_EQ(v.live[0].bytes, "A10;A33;");
  EXPECT_EQ(v.live[0].kind, MediaKind::kAudio);
}

TEST_F(StreamCoalesceTest, HeldAudioLeavesBeforeTheEnd) {
  Recorder v(b);
  StreamPtr s = publishHoldingAudio(v);
  runOn(a, [&] { s->end(); });
  settle();
  ASSERT_EQ(v.live.size(), 1u);
  EXPECT_EQ(v.live[0].bytes, "A10;");
  EXPECT_TRUE(v.ended);
}

TEST_F(StreamCoalesceTest, AudioOnlyStreamIsNotHeld) {
  StreamPtr s = publish(false);
  Recorder v(b);
  push(s, {frame(A, 0)});
  attach(s, v);
  push(s, {frame(A, 23), frame(A, 46)});
  settle();
  ASSERT_EQ(v.live.size(), 2u);
  EXPECT_EQ(v.live[0].bytes, "A23;");
  EXPECT_EQ(v.live[1].bytes, "A46;");
}

}  // namespace
}  // namespace xl
