#include "index_db.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <set>

namespace xl::recorder {
namespace {

int64_t epochMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

Result<std::unique_ptr<IndexDb>> IndexDb::open(const std::string& path) {
  std::unique_ptr<IndexDb> db(new IndexDb());
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  db->db_.reset(raw);  // closed by the deleter even when opening failed
  if (rc != SQLITE_OK)
    return Status::error(path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  if (Status s = db->init(); !s) return Status::error(path + ": " + s.message());
  return db;
}

IndexDb::~IndexDb() {
  // Statements before the connection (member order would do it too, but be explicit).
  insert_.reset();
  remove_.reset();
  query_.reset();
  all_.reset();
  sums_.reset();
  begin_.reset();
  commit_.reset();
}

Status IndexDb::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &msg) == SQLITE_OK) return Status::ok();
  std::string why = msg ? msg : sqlite3_errmsg(db_.get());
  sqlite3_free(msg);
  return Status::error(why);
}

Status IndexDb::prepare(Stmt& s, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK)
    return Status::error(sqlite3_errmsg(db_.get()));
  s.reset(raw);
  return Status::ok();
}

Status IndexDb::init() {
  sqlite3_busy_timeout(db_.get(), 2000);
  // The first read of the file: a file that is not a database fails here.
  Stmt version;
  if (Status s = prepare(version, "PRAGMA user_version"); !s) return s;
  if (sqlite3_step(version.get()) != SQLITE_ROW) return Status::error(sqlite3_errmsg(db_.get()));
  int v = sqlite3_column_int(version.get(), 0);
  version.reset();
  // A damaged page shows up here rather than as a wrong listing later; cheap at this size.
  Stmt check;
  if (Status s = prepare(check, "PRAGMA quick_check"); !s) return s;
  if (sqlite3_step(check.get()) != SQLITE_ROW) return Status::error(sqlite3_errmsg(db_.get()));
  std::string verdict = reinterpret_cast<const char*>(sqlite3_column_text(check.get(), 0));
  check.reset();
  if (verdict != "ok") return Status::error("integrity check: " + verdict);
  if (v == 0) {
    created_ = true;
    if (Status s = exec("PRAGMA journal_mode=WAL;"
                        "CREATE TABLE IF NOT EXISTS segments ("
                        "  path TEXT PRIMARY KEY, stream TEXT NOT NULL,"
                        "  start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
                        "  bytes INTEGER NOT NULL);"
                        "CREATE INDEX IF NOT EXISTS segments_stream_start"
                        "  ON segments (stream, start_ms);"
                        "PRAGMA user_version = 1;");
        !s)
      return s;
    static_assert(kSchemaVersion == 1, "update the CREATE statements and the pragma above");
  } else if (v != kSchemaVersion) {
    return Status::error("schema version " + std::to_string(v) + ", expected " +
                         std::to_string(kSchemaVersion));
  } else if (Status s = exec("PRAGMA journal_mode=WAL"); !s) {
    return s;
  }
  // WAL with NORMAL sync: a power cut may lose the last rows, never corrupt the file, and the
  // next start re-adds those files from disk.
  if (Status s = exec("PRAGMA synchronous=NORMAL"); !s) return s;
  constexpr const char* kCols = "SELECT stream, path, start_ms, end_ms, bytes FROM segments ";
  std::string q = std::string(kCols) +
                  "WHERE stream = ?1 AND start_ms < ?3 AND max(end_ms, start_ms) >= ?2 "
                  "ORDER BY start_ms";
  std::string a = std::string(kCols) + "ORDER BY stream, start_ms";
  for (auto [stmt, sql] :
       {std::pair{&insert_,
                  "INSERT OR REPLACE INTO segments (stream, path, start_ms, "
                  "end_ms, bytes) VALUES (?1, ?2, ?3, ?4, ?5)"},
        std::pair{&remove_, "DELETE FROM segments WHERE path = ?1"}, std::pair{&query_, q.c_str()},
        std::pair{&all_, a.c_str()},
        std::pair{&sums_, "SELECT stream, SUM(bytes) FROM segments GROUP BY stream"},
        std::pair{&begin_, "BEGIN"}, std::pair{&commit_, "COMMIT"}}) {
    if (Status s = prepare(*stmt, sql); !s) return s;
  }
  return Status::ok();
}

bool IndexDb::step(sqlite3_stmt* s) {
  int rc = sqlite3_step(s);
  bool ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
  if (!ok) error_ = sqlite3_errmsg(db_.get());
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return ok;
}

bool IndexDb::insert(const IndexRow& r) {
  sqlite3_stmt* s = insert_.get();
  sqlite3_bind_text(s, 1, r.stream.data(), static_cast<int>(r.stream.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 2, r.path.data(), static_cast<int>(r.path.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 3, r.startMs);
  sqlite3_bind_int64(s, 4, r.endMs);
  sqlite3_bind_int64(s, 5, static_cast<sqlite3_int64>(r.bytes));
  return step(s);
}

bool IndexDb::remove(const std::string& path) {
  sqlite3_stmt* s = remove_.get();
  sqlite3_bind_text(s, 1, path.data(), static_cast<int>(path.size()), SQLITE_TRANSIENT);
  return step(s);
}

std::vector<IndexRow> IndexDb::rows(sqlite3_stmt* s) {
  std::vector<IndexRow> out;
  int rc;
  auto text = [s](int col) {
    const unsigned char* t = sqlite3_column_text(s, col);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  };
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    out.push_back({text(0), text(1), sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3),
                   static_cast<uint64_t>(sqlite3_column_int64(s, 4))});
  }
  if (rc != SQLITE_DONE) error_ = sqlite3_errmsg(db_.get());
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return out;
}

std::vector<IndexRow> IndexDb::query(const std::string& stream, int64_t fromMs, int64_t toMs) {
  sqlite3_stmt* s = query_.get();
  sqlite3_bind_text(s, 1, stream.data(), static_cast<int>(stream.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 2, fromMs);
  sqlite3_bind_int64(s, 3, toMs);
  return rows(s);
}

std::vector<IndexRow> IndexDb::all() {
  return rows(all_.get());
}

std::map<std::string, uint64_t> IndexDb::bytesByStream() {
  std::map<std::string, uint64_t> out;
  sqlite3_stmt* s = sums_.get();
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(s, 0);
    out[t ? reinterpret_cast<const char*>(t) : ""] =
        static_cast<uint64_t>(sqlite3_column_int64(s, 1));
  }
  if (rc != SQLITE_DONE) error_ = sqlite3_errmsg(db_.get());
  sqlite3_reset(s);
  return out;
}

bool IndexDb::begin() {
  return step(begin_.get());
}

bool IndexDb::commit() {
  return step(commit_.get());
}

std::string indexPath(const std::string& root) {
  return root + "/index.sqlite3";
}

std::string relativeToRoot(const std::string& root, const std::string& path) {
  std::string prefix = root + "/";
  if (!path.starts_with(prefix)) return path;
  size_t at = prefix.size();
  while (at < path.size() && path[at] == '/') ++at;
  return path.substr(at);
}

std::string absoluteUnderRoot(const std::string& root, const std::string& rel) {
  return rel.starts_with('/') ? rel : root + "/" + rel;
}

std::unique_ptr<IndexDb> openIndex(const std::string& rootIn, Retention& into,
                                   const std::function<int64_t(const std::string&)>& durationMs,
                                   IndexOpenStats* statsOut) {
  namespace fs = std::filesystem;
  IndexOpenStats stats;
  std::string root = rootIn;
  while (root.size() > 1 && root.ends_with('/')) root.pop_back();
  std::string path = indexPath(root);
  std::error_code ec;
  fs::create_directories(root, ec);
  bool existed = fs::exists(path, ec);
  auto opened = IndexDb::open(path);
  if (!opened && existed) {
    // Keep the bad file for inspection rather than deleting evidence; its WAL goes with it.
    stats.movedAside = path + ".bad-" + std::to_string(epochMs());
    spdlog::warn("recorder: index {} unusable ({}), moved aside to {}; rebuilding from the files",
                 path, opened.message(), stats.movedAside);
    fs::rename(path, stats.movedAside, ec);
    if (ec) {
      spdlog::error("recorder: cannot move {} aside: {}", path, ec.message());
    } else {
      for (const char* side : {"-wal", "-shm"}) {
        std::error_code sideEc;
        if (fs::exists(path + side, sideEc))
          fs::rename(path + side, stats.movedAside + side, sideEc);
      }
      opened = IndexDb::open(path);
    }
  }
  if (!opened) {
    spdlog::error("recorder: no index database ({}); working from a scan of {} in memory",
                  opened.message(), root);
    scanRoot(root, into, durationMs);
    if (statsOut) *statsOut = stats;
    return nullptr;
  }
  std::unique_ptr<IndexDb> db = std::move(*opened);
  auto probe = [&](const std::string& rel, int64_t start) {
    ++stats.probed;
    return durationMs ? start + durationMs(root + "/" + rel) : start;
  };
  db->begin();
  if (db->created()) {
    stats.rebuilt = true;
    walkSegments(root, [&](const std::string& rel, const std::string& stream, int64_t start,
                           uint64_t bytes) {
      if (db->insert({stream, rel, start, probe(rel, start), bytes})) ++stats.added;
    });
  } else {
    // Reconcile: one stat per known row, one walk, and a probe only for files not yet known.
    std::set<std::string> known;
    for (IndexRow& r : db->all()) {
      struct stat st {};
      if (::stat(absoluteUnderRoot(root, r.path).c_str(), &st) != 0) {
        if (db->remove(r.path)) ++stats.removed;
      } else {
        known.insert(std::move(r.path));
      }
    }
    walkSegments(root, [&](const std::string& rel, const std::string& stream, int64_t start,
                           uint64_t bytes) {
      if (known.count(rel)) return;
      if (db->insert({stream, rel, start, probe(rel, start), bytes})) ++stats.added;
    });
  }
  if (!db->commit()) spdlog::warn("recorder: index {}: {}", path, db->lastError());
  std::map<std::string, std::deque<SegmentFile>> files;
  for (IndexRow& r : db->all())
    files[r.stream].push_back({absoluteUnderRoot(root, r.path), r.startMs, r.bytes, r.endMs});
  std::map<std::string, uint64_t> sums = db->bytesByStream();
  for (auto& [stream, list] : files) into.restore(stream, std::move(list), sums[stream]);
  spdlog::info("recorder: index {}: {}{} removed, {} added, {} probed", path,
               stats.rebuilt ? "rebuilt from the files, " : "", stats.removed, stats.added,
               stats.probed);
  if (statsOut) *statsOut = stats;
  return db;
}

}  // namespace xl::recorder
