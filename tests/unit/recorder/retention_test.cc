// Retention accounting and the on-disk layout of recordings.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "retention.h"

namespace xl::recorder {
namespace {

SegmentFile seg(const std::string& path, int64_t startSec, uint64_t bytes) {
  return {path, startSec * 1000, bytes};
}

Limits none(const std::string&) {
  return {};
}

// The paths of what collect() gave up, in its order.
std::vector<std::string> paths(const std::vector<SegmentFile>& files) {
  std::vector<std::string> out;
  for (const SegmentFile& f : files) out.push_back(f.path);
  return out;
}
using Paths = std::vector<std::string>;

TEST(Retention, KeepsRunningTotalsPerStreamAndOverall) {
  Retention r;
  r.add("a/1", seg("x", 100, 10));
  r.add("a/1", seg("y", 50, 5));
  r.add("b/2", seg("z", 70, 7));
  EXPECT_EQ(r.totalBytes(), 22u);
  EXPECT_EQ(r.streamBytes("a/1"), 15u);
  EXPECT_EQ(r.streamBytes("b/2"), 7u);
  EXPECT_EQ(r.fileCount(), 3u);
  EXPECT_TRUE(r.collect(1000 * 1000, none, {}).empty());
}

TEST(Retention, PerStreamQuotaDeletesOldestFirst) {
  Retention r;
  r.add("a/1", seg("new", 300, 40));
  r.add("a/1", seg("old", 100, 40));
  r.add("a/1", seg("mid", 200, 40));
  r.add("b/2", seg("other", 10, 1000));
  auto limits = [](const std::string& s) { return s == "a/1" ? Limits{0, 100} : Limits{}; };
  EXPECT_EQ(paths(r.collect(400 * 1000, limits, {})), Paths{"old"});
  EXPECT_EQ(r.streamBytes("a/1"), 80u);
  EXPECT_EQ(r.totalBytes(), 1080u);
  // Under quota now: nothing more.
  EXPECT_TRUE(r.collect(400 * 1000, limits, {}).empty());
}

TEST(Retention, GlobalQuotaTakesOldestAcrossStreams) {
  Retention r;
  r.add("a/1", seg("a100", 100, 10));
  r.add("b/2", seg("b50", 50, 10));
  r.add("b/2", seg("b150", 150, 10));
  EXPECT_EQ(paths(r.collect(0, none, Limits{0, 15})), (Paths{"b50", "a100"}));
  EXPECT_EQ(r.totalBytes(), 10u);
}

TEST(Retention, MaxAgeDeletesOnlyOlderFiles) {
  Retention r;
  r.add("a/1", seg("old", 1000, 1));
  r.add("a/1", seg("young", 4000, 1));
  auto limits = [](const std::string&) { return Limits{3600, 0}; };
  EXPECT_EQ(paths(r.collect(5000 * 1000, limits, {})), Paths{"old"});
  // Global age alone does the same.
  Retention g;
  g.add("a/1", seg("old", 1000, 1));
  g.add("b/1", seg("young", 4000, 1));
  EXPECT_EQ(paths(g.collect(5000 * 1000, none, Limits{3600, 0})), Paths{"old"});
}

TEST(SegmentPath, UtcLayoutRoundTrips) {
  // 2026-11-30 04:05:06 UTC
  int64_t t = int64_t(1796011506) * 1000;
  std::string p = segmentPath("/rec", "town1/gate", t, 0);
  EXPECT_EQ(p, "/rec/town1/gate/2026/11/30/040506.mp4");
  EXPECT_EQ(segmentPath("/rec", "town1/gate", t, 2), "/rec/town1/gate/2026/11/30/040506-2.mp4");
  std::string stream;
  int64_t back = 0;
  ASSERT_TRUE(parseSegmentPath("town1/gate/2026/11/30/040506.mp4", &stream, &back));
  EXPECT_EQ(stream, "town1/gate");
  EXPECT_EQ(back, t);
  ASSERT_TRUE(parseSegmentPath("town1/gate/2026/11/30/040506-2.mp4", &stream, &back));
  EXPECT_EQ(back, t);
}

TEST(SegmentPath, RejectsOtherFiles) {
  std::string s;
  int64_t t;
  EXPECT_FALSE(parseSegmentPath("town1/gate/2026/11/30/040506.txt", &s, &t));
  EXPECT_FALSE(parseSegmentPath("gate/2026/11/30/040506.mp4", &s, &t));
  EXPECT_FALSE(parseSegmentPath("town1/gate/2026/13/30/040506.mp4", &s, &t));
  EXPECT_FALSE(parseSegmentPath("town1/gate/2026/11/30/04x506.mp4", &s, &t));
  EXPECT_FALSE(parseSegmentPath("town1/gate/2026/11/30/040506-x.mp4", &s, &t));
  EXPECT_FALSE(parseSegmentPath("town1/gate/26/11/30/040506.mp4", &s, &t));
}

TEST(ScanRoot, FindsRecordingsAndTheirSizes) {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("xl-rec-scan-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "a/b/2026/01/02");
  std::ofstream(root / "a/b/2026/01/02/030405.mp4") << std::string(123, 'x');
  std::ofstream(root / "a/b/2026/01/02/notes.txt") << "ignored";
  Retention r;
  scanRoot(root.string(), r, [](const std::string&) { return int64_t(5000); });
  EXPECT_EQ(r.fileCount(), 1u);
  EXPECT_EQ(r.streamBytes("a/b"), 123u);
  fs::remove_all(root);
}

}  // namespace
}  // namespace xl::recorder
