// The SQLite index of recordings: rows, range queries and gaps, deletion, and the start-up
// sequence (rebuild when missing, corrupt or of another schema version; cheap reconcile).
#include "index_db.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace xl::recorder {
namespace {

namespace fs = std::filesystem;

class IndexDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("xl_index_db_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // A recording file of `bytes` bytes at the layout's path for `epochSec`; returns it relative.
  std::string makeFile(const std::string& stream, int64_t epochSec, size_t bytes) {
    std::string abs = segmentPath(root_.string(), stream, epochSec * 1000, 0);
    fs::create_directories(fs::path(abs).parent_path());
    std::ofstream(abs) << std::string(bytes, 'x');
    return relativeToRoot(root_.string(), abs);
  }
  // Each file "lasts" 10 s; counts the probes.
  std::function<int64_t(const std::string&)> probe() {
    return [this](const std::string&) {
      ++probes_;
      return int64_t(10000);
    };
  }
  std::string root() const { return root_.string(); }
  // Opens the index as the server does at start, into a fresh retention_ and stats_.
  std::unique_ptr<IndexDb> reopen() {
    retention_ = std::make_unique<Retention>();
    stats_ = {};
    return openIndex(root(), *retention_, probe(), &stats_);
  }
  // The last reopen() rebuilt the index of the one recording after moving a bad file aside.
  void expectRebuiltOneAfterBadFile(IndexDb& db) {
    EXPECT_TRUE(stats_.rebuilt);
    EXPECT_FALSE(stats_.movedAside.empty());
    EXPECT_EQ(db.all().size(), 1u);
  }

  fs::path root_;
  int probes_ = 0;
  std::unique_ptr<Retention> retention_;
  IndexOpenStats stats_;
};

TEST_F(IndexDbTest, InsertQueryRangeAndGaps) {
  auto db = IndexDb::open(indexPath(root()));
  ASSERT_TRUE(db) << db.message();
  EXPECT_TRUE((*db)->created());
  IndexDb& d = **db;
  ASSERT_TRUE(d.insert({"a/1", "a/1/x1.mp4", 100000, 110000, 10}));
  ASSERT_TRUE(d.insert({"a/1", "a/1/x3.mp4", 130000, 140000, 30}));
  ASSERT_TRUE(d.insert({"a/1", "a/1/x2.mp4", 110000, 120000, 20}));
  ASSERT_TRUE(d.insert({"b/2", "b/2/y.mp4", 100000, 200000, 7}));
  auto rows = d.query("a/1", 0, 1000000);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].path, "a/1/x1.mp4");  // oldest first whatever the insert order
  EXPECT_EQ(rows[1].path, "a/1/x2.mp4");
  EXPECT_EQ(rows[2].path, "a/1/x3.mp4");
  EXPECT_EQ(rows[2].bytes, 30u);
  EXPECT_EQ(rows[2].endMs, 140000);
  // Only overlapping files: [115 s, 131 s) touches x2 and x3, not x1.
  rows = d.query("a/1", 115000, 131000);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].path, "a/1/x2.mp4");
  EXPECT_TRUE(d.query("a/1", 150000, 160000).empty());
  EXPECT_TRUE(d.query("c/3", 0, 1000000).empty());
  // The gaps of the listing come from the rows: 120-130 s inside, and after the last file.
  std::vector<SegmentFile> segs;
  for (auto& r : d.query("a/1", 100000, 150000))
    segs.push_back({r.path, r.startMs, r.bytes, r.endMs});
  auto gaps = findGaps(segs, 100000, 150000, 1500);
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_EQ(gaps[0].fromMs, 120000);
  EXPECT_EQ(gaps[0].toMs, 130000);
  EXPECT_EQ(gaps[1].fromMs, 140000);
  auto sums = d.bytesByStream();
  EXPECT_EQ(sums["a/1"], 60u);
  EXPECT_EQ(sums["b/2"], 7u);
}

TEST_F(IndexDbTest, DeleteAndReplace) {
  auto db = IndexDb::open(indexPath(root()));
  ASSERT_TRUE(db);
  IndexDb& d = **db;
  ASSERT_TRUE(d.insert({"a/1", "p1", 1000, 2000, 10}));
  ASSERT_TRUE(d.insert({"a/1", "p2", 3000, 4000, 10}));
  ASSERT_TRUE(d.remove("p1"));
  auto rows = d.all();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].path, "p2");
  ASSERT_TRUE(d.insert({"a/1", "p2", 3000, 5000, 99}));  // the same path: replaced
  rows = d.all();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].bytes, 99u);
  EXPECT_EQ(d.bytesByStream()["a/1"], 99u);
}

TEST_F(IndexDbTest, PersistsAcrossOpens) {
  {
    auto db = IndexDb::open(indexPath(root()));
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->insert({"a/1", "p", 1, 2, 3}));
  }
  auto again = IndexDb::open(indexPath(root()));
  ASSERT_TRUE(again) << again.message();
  EXPECT_FALSE((*again)->created());
  ASSERT_EQ((*again)->all().size(), 1u);
}

TEST_F(IndexDbTest, RebuiltFromTheFilesWhenMissing) {
  makeFile("cam/1", 1700000000, 100);
  makeFile("cam/1", 1700000010, 200);
  makeFile("cam/2", 1700000005, 50);
  std::ofstream(root_ / "cam" / "1" / "notes.txt") << "not a recording";
  auto db = reopen();
  ASSERT_TRUE(db);
  EXPECT_TRUE(fs::exists(indexPath(root())));
  EXPECT_TRUE(stats_.rebuilt);
  EXPECT_EQ(stats_.added, 3u);
  EXPECT_EQ(probes_, 3);
  EXPECT_EQ(retention_->fileCount(), 3u);
  EXPECT_EQ(retention_->streamBytes("cam/1"), 300u);
  EXPECT_EQ(retention_->totalBytes(), 350u);
  auto rows = db->query("cam/1", 0, INT64_MAX);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].startMs, 1700000000000);
  EXPECT_EQ(rows[0].endMs, 1700000010000);  // start + probed duration
  EXPECT_EQ(rows[0].path, "cam/1/2023/11/14/221320.mp4");
}

TEST_F(IndexDbTest, ReconcilesWithoutProbingKnownFiles) {
  std::string keep = makeFile("cam/1", 1700000000, 100);
  std::string gone = makeFile("cam/1", 1700000010, 200);
  ASSERT_TRUE(reopen());
  ASSERT_EQ(probes_, 2);
  fs::remove(root_ / gone);                                // deleted outside the server
  std::string fresh = makeFile("cam/1", 1700000020, 300);  // written while the DB was closed
  auto db = reopen();
  ASSERT_TRUE(db);
  EXPECT_FALSE(stats_.rebuilt);
  EXPECT_EQ(stats_.removed, 1u);
  EXPECT_EQ(stats_.added, 1u);
  EXPECT_EQ(probes_, 3);  // only the new file
  auto rows = db->all();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].path, keep);
  EXPECT_EQ(rows[1].path, fresh);
  EXPECT_EQ(retention_->streamBytes("cam/1"), 400u);
}

TEST_F(IndexDbTest, CorruptFileIsMovedAsideAndRebuilt) {
  makeFile("cam/1", 1700000000, 100);
  std::ofstream(indexPath(root())) << std::string(8192, 'Z');
  auto db = reopen();
  ASSERT_TRUE(db);
  expectRebuiltOneAfterBadFile(*db);
  ASSERT_TRUE(fs::exists(stats_.movedAside));
  EXPECT_EQ(fs::file_size(stats_.movedAside), 8192u);  // the bad file is kept as it was
  EXPECT_EQ(retention_->totalBytes(), 100u);
}

TEST_F(IndexDbTest, OtherSchemaVersionIsRebuilt) {
  makeFile("cam/1", 1700000000, 100);
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(indexPath(root()).c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE old(x); PRAGMA user_version = 99;", nullptr, nullptr,
                           nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  auto direct = IndexDb::open(indexPath(root()));
  ASSERT_FALSE(direct);
  EXPECT_NE(direct.message().find("schema version 99"), std::string::npos) << direct.message();
  auto db = reopen();
  ASSERT_TRUE(db);
  expectRebuiltOneAfterBadFile(*db);
  // The new database has the current version.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(indexPath(root()).c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(s, 0), IndexDb::kSchemaVersion);
  sqlite3_finalize(s);
  sqlite3_close(raw);
}

TEST_F(IndexDbTest, UsesWal) {
  auto db = IndexDb::open(indexPath(root()));
  ASSERT_TRUE(db);
  ASSERT_TRUE((*db)->insert({"a/1", "p", 1, 2, 3}));
  EXPECT_TRUE(fs::exists(indexPath(root()) + "-wal"));
}

TEST(IndexPaths, RelativeAndBack) {
  EXPECT_EQ(relativeToRoot("/r", "/r/a/b/x.mp4"), "a/b/x.mp4");
  EXPECT_EQ(relativeToRoot("/r", "/other/x.mp4"), "/other/x.mp4");
  EXPECT_EQ(absoluteUnderRoot("/r", "a/b/x.mp4"), "/r/a/b/x.mp4");
  EXPECT_EQ(absoluteUnderRoot("/r", "/other/x.mp4"), "/other/x.mp4");
}

}  // namespace
}  // namespace xl::recorder
