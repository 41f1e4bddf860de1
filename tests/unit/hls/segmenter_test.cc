#include "hls/segmenter.h"

#include <gtest/gtest.h>

#include "test_media.h"
#include "ts_reader.h"

namespace xl::hls {
namespace {

constexpr int64_t kWall = 1700000000000;  // fixed wall clock for EXT-X-PROGRAM-DATE-TIME

struct Feed {
  Segmenter seg;
  std::vector<SnapshotPtr> snaps;
  explicit Feed(SegmenterConfig cfg = {}, SnapshotPtr prev = nullptr)
      : seg(
            cfg, [] { return kWall; }, std::move(prev)) {
    seg.setMediaInfo(test::h264AacInfo());
  }
  void push(const Frame& f) {
    if (auto s = seg.onFrame(f)) snaps.push_back(s);
  }
  // 25 fps video with a keyframe every `gopFrames`, AAC every ~23 ms, from `startMs`.
  void run(int64_t startMs, int64_t ms, int gopFrames = 50) {
    int64_t audio = startMs;
    for (int64_t i = 0; i * 40 < ms; ++i) {
      int64_t t = startMs + i * 40;
      push(test::videoFrame(t, i % gopFrames == 0, 800));
      while (audio <= t) {
        push(test::audioFrame(audio));
        audio += 23;
      }
    }
  }
  SnapshotPtr last() const { return snaps.empty() ? nullptr : snaps.back(); }
};

TEST(Segmenter, CutsAtKeyframesNearTarget) {
  Feed f;
  f.run(0, 10000, 25);  // keyframe every second, target 2 s
  ASSERT_FALSE(f.snaps.empty());
  auto s = f.last();
  ASSERT_EQ(s->segments.size(), 4u);  // 0-2, 2-4, 4-6, 6-8 (8-10 is still open)
  for (size_t i = 0; i < s->segments.size(); ++i) {
    EXPECT_EQ(s->segments[i]->msn, i);
    EXPECT_EQ(s->segments[i]->durationMs, 2000);
    EXPECT_EQ(s->segments[i]->startDts, static_cast<int64_t>(i) * 2000);
    EXPECT_EQ(s->segments[i]->programDateMs, kWall + static_cast<int64_t>(i) * 2000);
    EXPECT_FALSE(s->segments[i]->discontinuity);
  }
  EXPECT_EQ(s->targetDurationS, 2);
}

TEST(Segmenter, EverySegmentStartsWithTablesAndAKeyframe) {
  Feed f;
  // Frames before the first keyframe are not segmentable.
  f.push(test::videoFrame(-80, false));
  f.push(test::audioFrame(-60));
  f.run(0, 6100, 50);
  auto s = f.last();
  ASSERT_EQ(s->segments.size(), 3u);
  for (auto& seg : s->segments) {
    test::TsReader r;
    r.feed(seg->data.data(), seg->data.size());
    r.finish();
    EXPECT_TRUE(r.errors.empty()) << r.errors.front();
    ASSERT_EQ(r.sectionPids.size(), 2u);
    EXPECT_EQ(r.sectionPids[0], kPatPid);
    ASSERT_FALSE(r.pes.empty());
    EXPECT_EQ(r.pes[0].pid, kVideoPid);
    EXPECT_TRUE(r.pes[0].randomAccess);
    EXPECT_EQ(r.pes[0].dts, tsTime90k(seg->startDts));
  }
}

TEST(Segmenter, SlidingWindowAndRetention) {
  SegmenterConfig cfg;
  cfg.window = 3;
  cfg.extraKept = 2;
  Feed f(cfg);
  f.run(0, 30000, 50);
  auto s = f.last();
  EXPECT_EQ(s->segments.size(), 5u);
  EXPECT_EQ(s->windowStart, 2u);
  EXPECT_EQ(s->segments.back()->msn, 13u);
  EXPECT_EQ(s->segments[s->windowStart]->msn, 11u);
  EXPECT_TRUE(s->find(9));
  EXPECT_FALSE(s->find(8));
  EXPECT_FALSE(s->find(14));
}

TEST(Segmenter, LongGopStretchesTargetDuration) {
  Feed f;
  f.run(0, 20000, 125);  // keyframe every 5 s
  auto s = f.last();
  ASSERT_FALSE(s->segments.empty());
  EXPECT_EQ(s->segments[0]->durationMs, 5000);
  EXPECT_EQ(s->targetDurationS, 5);
}

TEST(Segmenter, TimestampJumpIsADiscontinuity) {
  Feed f;
  f.run(0, 6100, 50);
  f.run(100000, 6100, 50);  // the source jumped 94 s ahead
  auto s = f.last();
  ASSERT_GE(s->segments.size(), 5u);
  int disc = 0;
  for (auto& seg : s->segments) disc += seg->discontinuity;
  EXPECT_EQ(disc, 1);
  // The segment open at the jump (6000..6080) is closed at its last frame + one interval.
  EXPECT_EQ(s->segments[3]->startDts, 6000);
  EXPECT_EQ(s->segments[3]->durationMs, 120);
  EXPECT_FALSE(s->segments[3]->discontinuity);
  EXPECT_EQ(s->segments[4]->startDts, 100000);
  EXPECT_TRUE(s->segments[4]->discontinuity);
  // Timestamps going backwards do the same.
  f.run(0, 6100, 50);
  int disc2 = 0;
  for (auto& seg : f.last()->segments) disc2 += seg->discontinuity;
  EXPECT_EQ(disc2, 2);
}

TEST(Segmenter, DiscontinuitySequenceCountsTagsLeavingTheWindow) {
  SegmenterConfig cfg;
  cfg.window = 2;
  cfg.extraKept = 0;
  Feed f(cfg);
  f.run(0, 4100, 50);      // segments 0, 1
  f.run(50000, 8100, 50);  // 2 (closed at the jump), 3 (discontinuity), 4, 5, 6
  auto s = f.last();
  EXPECT_EQ(s->segments.front()->msn, 5u);
  EXPECT_TRUE(s->segments.front()->discontinuity == false);
  EXPECT_EQ(s->discontinuitySequence, 1u);
}

TEST(Segmenter, ContinuesFromPreviousSourceWithDiscontinuity) {
  Feed a;
  a.run(0, 6100, 50);
  auto fin = a.seg.finish();
  ASSERT_TRUE(fin);
  EXPECT_EQ(fin->segments.size(), 4u);  // the open one was closed
  Feed b({}, fin);
  b.run(0, 4100, 50);
  auto s = b.last();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->segments[4]->msn, 4u);
  EXPECT_TRUE(s->segments[4]->discontinuity);
  EXPECT_FALSE(s->segments[5]->discontinuity);
}

TEST(Segmenter, AudioOnlyCutsByDuration) {
  Segmenter seg({}, [] { return kWall; });
  auto info = std::make_shared<MediaInfo>(*test::h264AacInfo());
  info->video.reset();
  seg.setMediaInfo(info);
  SnapshotPtr last;
  for (int64_t t = 0; t < 7000; t += 23)
    if (auto s = seg.onFrame(test::audioFrame(t))) last = s;
  ASSERT_TRUE(last);
  EXPECT_EQ(last->segments.size(), 3u);
  for (auto& s : last->segments) EXPECT_NEAR(s->durationMs, 2000, 30);
}

TEST(Segmenter, NothingWithoutMediaInfo) {
  Segmenter seg({}, [] { return kWall; });
  for (int i = 0; i < 200; ++i) EXPECT_FALSE(seg.onFrame(test::videoFrame(i * 40, i % 25 == 0)));
  EXPECT_FALSE(seg.finish());
}

}  // namespace
}  // namespace xl::hls
