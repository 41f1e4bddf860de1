#include "hls/playlist.h"

#include <gtest/gtest.h>

namespace xl::hls {
namespace {

std::string text(const RenderedPlaylist& p) {
  return std::string(reinterpret_cast<const char*>(p.text.data()), p.text.size());
}

SegmentPtr seg(uint64_t msn, int64_t dur, bool disc = false) {
  auto s = std::make_shared<Segment>();
  s->msn = msn;
  s->durationMs = dur;
  s->programDateMs = 1700000000000 + static_cast<int64_t>(msn) * 2000;
  s->discontinuity = disc;
  return s;
}

TEST(Playlist, ProgramDateFormat) {
  EXPECT_EQ(formatProgramDate(1700000000123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(formatProgramDate(0), "1970-01-01T00:00:00.000Z");
}

TEST(Playlist, ClassicTsWindow) {
  Snapshot s;
  s.segments = {seg(7, 2000), seg(8, 2000), seg(9, 1960, true), seg(10, 2040)};
  s.windowStart = 1;
  s.discontinuitySequence = 3;
  s.targetDurationS = 2;
  EXPECT_EQ(text(renderPlaylist(s)),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXT-X-MEDIA-SEQUENCE:8\n"
            "#EXT-X-DISCONTINUITY-SEQUENCE:3\n"
            "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:36.000Z\n"
            "#EXTINF:2.000,\n"
            "seg8.ts\n"
            "#EXT-X-DISCONTINUITY\n"
            "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:38.000Z\n"
            "#EXTINF:1.960,\n"
            "seg9.ts\n"
            "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:40.000Z\n"
            "#EXTINF:2.040,\n"
            "seg10.ts\n");
}

TEST(Playlist, EndedAndEmpty) {
  Snapshot s;
  s.ended = true;
  std::string p = text(renderPlaylist(s));
  EXPECT_NE(p.find("#EXT-X-MEDIA-SEQUENCE:0\n"), std::string::npos);
  EXPECT_TRUE(p.ends_with("#EXT-X-ENDLIST\n"));
}

TEST(Playlist, FindBySequenceNumber) {
  Snapshot s;
  s.segments = {seg(4, 2000), seg(5, 2000)};
  EXPECT_EQ(s.find(5)->msn, 5u);
  EXPECT_EQ(s.find(3), nullptr);
  EXPECT_EQ(s.find(6), nullptr);
  EXPECT_EQ(s.nextMsn(), 6u);
  EXPECT_EQ(Snapshot{}.find(0), nullptr);
}

PartPtr part(uint64_t msn, uint32_t i, int64_t dur, bool indep) {
  auto p = std::make_shared<Part>();
  p->msn = msn;
  p->index = i;
  p->durationMs = dur;
  p->independent = indep;
  return p;
}

// A low-latency window: segments 10..17 listed (2 s each), parts on the last two, and two
// parts of the open segment 18.
Snapshot llSnapshot() {
  Snapshot s;
  for (uint64_t m = 10; m < 18; ++m) {
    auto g = std::make_shared<Segment>(*seg(m, 2000));
    if (m >= 16)
      for (uint32_t i = 0; i < 6; ++i) g->parts.push_back(part(m, i, i < 5 ? 320 : 400, i == 0));
    s.segments.push_back(g);
  }
  s.targetDurationS = 2;
  s.partTargetMs = 333;
  s.openParts = {part(18, 0, 320, true), part(18, 1, 320, false)};
  return s;
}

TEST(Playlist, LowLatencyTags) {
  Snapshot s = llSnapshot();
  std::string p = text(renderPlaylist(s));
  EXPECT_TRUE(
      p.starts_with("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
                    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.000,"
                    "PART-HOLD-BACK=0.999\n"
                    "#EXT-X-PART-INF:PART-TARGET=0.333\n#EXT-X-MEDIA-SEQUENCE:10\n"))
      << p;
  // Parts only on the last two segments, before their EXTINF, and on the open one.
  EXPECT_EQ(p.find("seg15.0.ts"), std::string::npos);
  EXPECT_NE(p.find("#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:52.000Z\n"
                   "#EXT-X-PART:DURATION=0.320,URI=\"seg16.0.ts\",INDEPENDENT=YES\n"
                   "#EXT-X-PART:DURATION=0.320,URI=\"seg16.1.ts\"\n"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find("#EXT-X-PART:DURATION=0.400,URI=\"seg17.5.ts\"\n#EXTINF:2.000,\nseg17.ts\n"),
            std::string::npos);
  EXPECT_TRUE(
      p.ends_with("seg17.ts\n"
                  "#EXT-X-PART:DURATION=0.320,URI=\"seg18.0.ts\",INDEPENDENT=YES\n"
                  "#EXT-X-PART:DURATION=0.320,URI=\"seg18.1.ts\"\n"
                  "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg18.2.ts\"\n"))
      << p;
  // Classic players still find every segment with its EXTINF.
  for (uint64_t m = 10; m < 18; ++m)
    EXPECT_NE(p.find("#EXTINF:2.000,\nseg" + std::to_string(m) + ".ts\n"), std::string::npos);
}

TEST(Playlist, DeltaUpdateSkipsOldSegments) {
  Snapshot s = llSnapshot();
  std::string d = text(renderPlaylist(s, true));
  // 16.64 s listed; a segment is skipped when it ends at least the skip boundary (6 target
  // durations, 12 s) before the end: 10 and 11 end 14.64 s and 12.64 s before it, 12 10.64 s.
  EXPECT_NE(d.find("#EXT-X-VERSION:9\n"), std::string::npos);
  EXPECT_NE(d.find("#EXT-X-MEDIA-SEQUENCE:10\n"), std::string::npos);
  EXPECT_NE(d.find("#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n"), std::string::npos) << d;
  EXPECT_EQ(d.find("seg11.ts\n"), std::string::npos);
  EXPECT_NE(d.find("seg12.ts\n"), std::string::npos);
  EXPECT_NE(d.find("#EXT-X-PRELOAD-HINT"), std::string::npos);
}

TEST(Playlist, SessionQueryAfterEveryUri) {
  Snapshot s = llSnapshot();
  RenderedPlaylist r = renderPlaylist(s);
  std::string q = r.withQuery("hls_session=abc");
  EXPECT_NE(q.find("\nseg17.ts?hls_session=abc\n"), std::string::npos);
  EXPECT_NE(q.find("URI=\"seg18.1.ts?hls_session=abc\"\n"), std::string::npos);
  EXPECT_NE(q.find("URI=\"seg18.2.ts?hls_session=abc\"\n"), std::string::npos);
  EXPECT_NE(q.find("URI=\"seg16.0.ts?hls_session=abc\",INDEPENDENT=YES\n"), std::string::npos);
  // Every URI got it, nothing else changed.
  size_t uris = 8 + 12 + 2 + 1;
  EXPECT_EQ(r.uriEnds.size(), uris);
  EXPECT_EQ(q.size(), r.text.size() + uris * std::string("?hls_session=abc").size());
}

}  // namespace
}  // namespace xl::hls
