// Time-range parsing for the recordings API, and gap finding over the index.
#include <gtest/gtest.h>

#include "retention.h"
#include "time_range.h"

namespace xl::recorder {
namespace {

TEST(ParseTime, EpochSeconds) {
  EXPECT_EQ(parseTime("1796011506"), int64_t(1796011506000));
  EXPECT_EQ(parseTime("1796011506.25"), int64_t(1796011506250));
  EXPECT_EQ(parseTime("0"), int64_t(0));
}

TEST(ParseTime, IsoUtc) {
  EXPECT_EQ(parseTime("2026-11-30T04:05:06Z"), int64_t(1796011506000));
  EXPECT_EQ(parseTime("2026-11-30T04:05:06"), int64_t(1796011506000));
  EXPECT_EQ(parseTime("2026-11-30T04:05:06.5Z"), int64_t(1796011506500));
  EXPECT_EQ(parseTime("2026-11-30T04:05:06+00:00"), int64_t(1796011506000));
  EXPECT_EQ(formatTime(1796011506500), "2026-11-30T04:05:06.500Z");
  EXPECT_EQ(parseTime(formatTime(1796011506123)), int64_t(1796011506123));
}

TEST(ParseTime, RejectsMalformed) {
  for (const char* bad :
       {"", "abc", "12x", "1.", "2026-11-30", "2026-13-01T00:00:00Z", "2026-02-31T00:00:00Z",
        "2026-11-30T24:00:00Z", "2026-11-30T04:05:06+08:00", "2026-11-30T04:05:06ZZ", "-5",
        "99999999999999", "2026-11-30T04:05"}) {
    EXPECT_FALSE(parseTime(bad).has_value()) << bad;
  }
}

SegmentFile seg(int64_t startS, int64_t endS) {
  std::string path = "f";
  path.append(std::to_string(startS));
  return {path, startS * 1000, 1, endS * 1000};
}

TEST(Gaps, BetweenAndAroundSegments) {
  std::vector<SegmentFile> s = {seg(10, 20), seg(20, 30), seg(40, 50)};
  auto g = findGaps(s, 0, 60000, 1500);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].fromMs, 0);
  EXPECT_EQ(g[0].toMs, 10000);
  EXPECT_EQ(g[1].fromMs, 30000);
  EXPECT_EQ(g[1].toMs, 40000);
  EXPECT_EQ(g[2].fromMs, 50000);
  EXPECT_EQ(g[2].toMs, 60000);
  // A rotation hiccup under the tolerance is not a gap.
  EXPECT_TRUE(findGaps({seg(10, 20), {"x", 21000, 1, 30000}}, 10000, 30000, 1500).empty());
  // No segments: the whole range.
  auto all = findGaps({}, 5000, 9000, 1500);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].toMs - all[0].fromMs, 4000);
}

TEST(Index, QueryReturnsOverlappingFilesOldestFirst) {
  Retention r;
  r.add("a/b", seg(40, 50));
  r.add("a/b", seg(10, 20));
  r.add("a/b", seg(20, 30));
  r.add("c/d", seg(10, 20));
  auto q = r.query("a/b", 15000, 41000);
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0].startEpochMs, 10000);
  EXPECT_EQ(q[2].startEpochMs, 40000);
  EXPECT_EQ(r.query("a/b", 31000, 39000).size(), 0u);
  EXPECT_EQ(r.query("x/y", 0, 100000).size(), 0u);
}

}  // namespace
}  // namespace xl::recorder
