#include "hls/playlist.h"

#include <gtest/gtest.h>

namespace xl::hls {
namespace {

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
  EXPECT_EQ(renderPlaylist(s),
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
  std::string p = renderPlaylist(s);
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

}  // namespace
}  // namespace xl::hls
