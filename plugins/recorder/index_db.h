// The persistent index of finished recordings: one SQLite database, `{root}/index.sqlite3` (WAL),
// with one row per segment file. Owned and used by the recorder's writer thread only (never a
// worker loop): SQLite calls may touch the disk.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "retention.h"
#include "xueliang/status.h"

namespace xl::recorder {

struct IndexRow {
  std::string stream;
  std::string path;  // relative to the recording root
  int64_t startMs = 0;
  int64_t endMs = 0;
  uint64_t bytes = 0;
};

class IndexDb {
 public:
  // Bumped whenever the table layout changes: a database with another version is rebuilt.
  static constexpr int kSchemaVersion = 1;

  // Opens or creates the database. Fails on a file that is not a sound SQLite database or whose
  // schema version is not kSchemaVersion; created() tells a new (empty) database apart.
  static Result<std::unique_ptr<IndexDb>> open(const std::string& path);
  ~IndexDb();
  IndexDb(const IndexDb&) = delete;
  IndexDb& operator=(const IndexDb&) = delete;

  bool created() const { return created_; }
  // Insert or replace (by path). False (with the reason in lastError()) on a database error.
  bool insert(const IndexRow& row);
  bool remove(const std::string& path);
  // The stream's rows overlapping [fromMs, toMs), oldest first.
  std::vector<IndexRow> query(const std::string& stream, int64_t fromMs, int64_t toMs);
  // Every row, by stream then start time.
  std::vector<IndexRow> all();
  // SUM(bytes) per stream.
  std::map<std::string, uint64_t> bytesByStream();
  bool begin();
  bool commit();
  const std::string& lastError() const { return error_; }

 private:
  struct StmtFree {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  using Stmt = std::unique_ptr<sqlite3_stmt, StmtFree>;
  struct DbClose {
    void operator()(sqlite3* d) const { sqlite3_close_v2(d); }
  };

  IndexDb() = default;
  Status init();
  Status exec(const char* sql);
  Status prepare(Stmt& s, const char* sql);
  bool step(sqlite3_stmt* s);  // runs a write statement to completion and resets it
  std::vector<IndexRow> rows(sqlite3_stmt* s);

  std::unique_ptr<sqlite3, DbClose> db_;
  bool created_ = false;
  std::string error_;
  Stmt insert_, remove_, query_, all_, sums_, begin_, commit_;
};

struct IndexOpenStats {
  bool rebuilt = false;    // the database was missing, corrupt or of another version
  std::string movedAside;  // where an unusable database was renamed to
  size_t removed = 0;      // rows whose file was gone
  size_t added = 0;        // files that were not in the index
  size_t probed = 0;       // files whose duration was probed
};

// The start-up sequence: opens `{root}/index.sqlite3`; rebuilds it from the files when it is
// missing, corrupt (renamed aside to `index.sqlite3.bad-<epoch ms>`) or of another schema
// version; otherwise reconciles it cheaply (rows whose file is gone are dropped, files not in the
// index are added; only those are probed). Then fills `into` from the database, byte totals from
// SUM per stream. Returns nullptr when no database can be used at all (e.g. a read-only root):
// `into` is then filled by a plain scan, and the caller works from memory.
std::unique_ptr<IndexDb> openIndex(const std::string& root, Retention& into,
                                   const std::function<int64_t(const std::string&)>& durationMs,
                                   IndexOpenStats* stats = nullptr);

// The database's path for a recording root, and a segment's path relative to the root (as
// stored) and back.
std::string indexPath(const std::string& root);
std::string relativeToRoot(const std::string& root, const std::string& path);
std::string absoluteUnderRoot(const std::string& root, const std::string& rel);

}  // namespace xl::recorder
