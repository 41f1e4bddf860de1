#include "hls/segmenter.h"
#include "hls/ts_muxer.h"

#include <gtest/gtest.h>

#include <cstring>

#include "test_media.h"
#include "ts_reader.h"

namespace xl::hls {
namespace {

constexpr int64_t kWall = 1700000000000;  // fixed wall clock for EXT-X-PROGRAM-DATE-TIME

struct Feed {
  int64_t now = kWall;  // frames arrive in real time: the wall clock follows their timestamps
  bool realTime = true;
  Segmenter seg;
  std::vector<SnapshotPtr> snaps;
  explicit Feed(SegmenterConfig cfg = {}, SnapshotPtr prev = nullptr)
      : seg(
            cfg, [this] { return now; }, std::move(prev)) {
    seg.setMediaInfo(test::h264AacInfo());
  }
  void push(const Frame& f) {
    if (realTime) now = std::max(now, kWall + f.dts);
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
    // PAT and PMT open every part, so that any part is self-describing.
    ASSERT_GE(r.sectionPids.size(), 2u);
    if (!seg->parts.empty()) {
      EXPECT_EQ(r.sectionPids.size(), 2 * seg->parts.size()) << seg->msn;
    }
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

TEST(Segmenter, LongGopIsCutWithinDeclaredTarget) {
  SegmenterConfig cfg;
  cfg.window = 20;
  Feed f(cfg);
  f.run(0, 20000, 125);  // keyframe every 5 s, target 2 s
  auto s = f.last();
  ASSERT_GE(s->segments.size(), 6u);
  EXPECT_EQ(s->targetDurationS, 2) << "TARGETDURATION never grows";
  for (auto& seg : s->segments) {
    EXPECT_LE((seg->durationMs + 500) / 1000, 2) << "EXTINF rounds to <= TARGETDURATION";
    EXPECT_EQ(seg->independent, seg->startDts % 5000 == 0) << seg->startDts;
  }
  // The first GOP's length is unknown: cut at the last frame before 2.5 s.
  EXPECT_EQ(s->segments[0]->durationMs, 2480);
  EXPECT_EQ(s->segments[1]->startDts, 2480);
  EXPECT_EQ(s->segments[3]->startDts, 5000) << "a keyframe after a forced cut starts a segment";
  // Then the 5 s GOP is cut into three equal pieces.
  EXPECT_EQ(s->segments[4]->startDts, 6680);
  EXPECT_EQ(s->segments[5]->startDts, 8360);
  EXPECT_EQ(s->segments[6]->startDts, 10000);
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

TEST(Segmenter, PartsCutNearPartTarget) {
  Feed f;  // part target 333 ms
  f.run(0, 4500, 50);
  auto s = f.last();
  ASSERT_EQ(s->segments.size(), 2u);
  EXPECT_GT(f.snaps.size(), 10u) << "a snapshot per part";
  for (auto& seg : s->segments) {
    ASSERT_GE(seg->parts.size(), 6u);
    int64_t sum = 0;
    size_t bytes = 0;
    for (size_t i = 0; i < seg->parts.size(); ++i) {
      const Part& p = *seg->parts[i];
      EXPECT_EQ(p.msn, seg->msn);
      EXPECT_EQ(p.index, i);
      EXPECT_LE(p.durationMs, 333) << "PART-TARGET is a maximum";
      if (i + 1 < seg->parts.size()) {
        EXPECT_GE(p.durationMs, 283) << "85% of PART-TARGET";
      }
      EXPECT_EQ(p.independent, i == 0) << "only the part with the keyframe";
      ASSERT_LE(bytes + p.data.size(), seg->data.size());
      EXPECT_EQ(std::memcmp(seg->data.data() + bytes, p.data.data(), p.data.size()), 0);
      bytes += p.data.size();
      sum += p.durationMs;
    }
    EXPECT_EQ(bytes, seg->data.size()) << "a segment is its parts";
    EXPECT_EQ(sum, seg->durationMs);
  }
  // The open segment's parts are published as they are cut.
  EXPECT_EQ(s->nextMsn(), 2u);
  ASSERT_FALSE(s->openParts.empty());
  EXPECT_EQ(s->openParts[0]->msn, 2u);
  EXPECT_TRUE(s->openParts[0]->independent);
  EXPECT_EQ(s->findPart(2, 0), s->openParts[0]);
  EXPECT_EQ(s->findPart(1, 0), s->segments[1]->parts[0]);
  EXPECT_EQ(s->findPart(2, 99), nullptr);
  EXPECT_EQ(s->hintMsn(), 2u);
  EXPECT_EQ(s->hintIndex(), s->openParts.size());
}

TEST(Segmenter, OlderSegmentsDropTheirParts) {
  Feed f;
  f.run(0, 10100, 50);
  auto s = f.last();
  ASSERT_EQ(s->segments.size(), 5u);
  for (size_t i = 0; i < s->segments.size(); ++i)
    EXPECT_EQ(s->segments[i]->parts.empty(), i + kSegmentsWithParts < s->segments.size()) << i;
}

TEST(Segmenter, BlockingReloadPositions) {
  Feed f;
  f.run(0, 4500, 50);
  auto s = f.last();  // segments 0, 1 complete; segment 2 has a part or more
  uint64_t p0 = 0, pNext = s->openParts.size(), pLast = s->segments[1]->parts.size() - 1;
  EXPECT_TRUE(s->satisfies(1, nullptr));
  EXPECT_FALSE(s->satisfies(2, nullptr)) << "segment 2 is not complete";
  EXPECT_TRUE(s->satisfies(2, &p0));
  EXPECT_FALSE(s->satisfies(2, &pNext));
  EXPECT_TRUE(s->satisfies(1, &pLast));
  uint64_t past = pLast + 1;
  EXPECT_TRUE(s->satisfies(1, &past)) << "the next part (2.0) is later than 1.last";
  EXPECT_FALSE(s->satisfies(3, &p0));
}

TEST(Segmenter, NoPartsWhenPartTargetIsZero) {
  SegmenterConfig cfg;
  cfg.partTargetMs = 0;
  Feed f(cfg);
  f.run(0, 6100, 50);
  auto s = f.last();
  ASSERT_EQ(s->segments.size(), 3u);
  EXPECT_TRUE(s->segments.back()->parts.empty());
  EXPECT_TRUE(s->openParts.empty());
  EXPECT_FALSE(s->delta.text);
}

TEST(Segmenter, Fmp4SegmentsAreFragmentsAfterAnInitSegment) {
  SegmenterConfig cfg;
  cfg.container = Container::kFmp4;
  Feed f(cfg);
  f.run(0, 4500, 50);
  auto s = f.last();
  ASSERT_EQ(s->segments.size(), 2u);
  auto fourcc = [](const BufferRef& b, size_t off) {
    return std::string(reinterpret_cast<const char*>(b.data()) + off + 4, 4);
  };
  ASSERT_TRUE(s->initSegment);
  EXPECT_EQ(fourcc(s->initSegment, 0), "ftyp");
  for (auto& seg : s->segments) {
    EXPECT_EQ(seg->init.data(), s->initSegment.data());
    // moof + mdat per part, back to back.
    size_t off = 0, n = 0;
    while (off + 8 <= seg->data.size()) {
      const uint8_t* d = seg->data.data() + off;
      uint32_t size = uint32_t(d[0]) << 24 | uint32_t(d[1]) << 16 | uint32_t(d[2]) << 8 | d[3];
      ASSERT_GE(size, 8u);
      EXPECT_EQ(fourcc(seg->data, off), n % 2 == 0 ? "moof" : "mdat");
      off += size;
      ++n;
    }
    EXPECT_EQ(off, seg->data.size());
    EXPECT_EQ(n, 2 * seg->parts.size());
  }
  std::string text(reinterpret_cast<const char*>(s->playlist.text.data()), s->playlist.text.size());
  EXPECT_NE(text.find("#EXT-X-MAP:URI=\"init.mp4\"\n"), std::string::npos);
  EXPECT_NE(text.find("seg1.m4s\n"), std::string::npos);
  EXPECT_NE(text.find("URI=\"seg2.0.m4s\",INDEPENDENT=YES"), std::string::npos);
}

TEST(Segmenter, ProgramDateNeverAheadOfArrival) {
  // A cached GOP (1.6 s of media) handed over at once, then live frames in real time: the
  // first segment's date is when its first frame really was live, not when it was handed over.
  Feed f;
  f.realTime = false;
  f.now = kWall + 10000;
  f.run(0, 1640, 50);
  f.realTime = true;
  f.now = kWall + 10000;
  int64_t audio = 1656;
  for (int64_t t = 1680; t < 4500; t += 40) {
    f.now = kWall + 10000 + (t - 1640);
    f.push(test::videoFrame(t, t % 2000 == 0, 800));
    for (; audio <= t; audio += 23) f.push(test::audioFrame(audio));
  }
  auto s = f.last();
  ASSERT_GE(s->segments.size(), 2u);
  // The live frames say media time 1640 was live at +10 s: the segment started 1.64 s before.
  EXPECT_EQ(s->segments[0]->programDateMs, kWall + 10000 - 1640);
  EXPECT_EQ(s->segments[1]->programDateMs - s->segments[0]->programDateMs, 2000);
}

TEST(Segmenter, NothingWithoutMediaInfo) {
  Segmenter seg({}, [] { return kWall; });
  for (int i = 0; i < 200; ++i) EXPECT_FALSE(seg.onFrame(test::videoFrame(i * 40, i % 25 == 0)));
  EXPECT_FALSE(seg.finish());
}

}  // namespace
}  // namespace xl::hls
