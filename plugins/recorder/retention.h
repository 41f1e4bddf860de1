// Retention accounting: every finished recording file by stream, oldest first, with running
// byte totals per stream and overall, so a quota check never scans the disk. Filled once at start
// from the recording root, then kept up to date as files are finished and deleted.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace xl::recorder {

struct SegmentFile {
  std::string path;
  int64_t startEpochMs = 0;
  uint64_t bytes = 0;
  int64_t endEpochMs = 0;  // start + media duration
};

struct Gap {
  int64_t fromMs = 0;
  int64_t toMs = 0;
};

// The holes in [fromMs, toMs) not covered by `segments` (sorted by start); a hole shorter than
// `toleranceMs` (a rotation between two files) is not one.
std::vector<Gap> findGaps(const std::vector<SegmentFile>& segments, int64_t fromMs, int64_t toMs,
                          int64_t toleranceMs);

struct Limits {
  int64_t maxAgeSeconds = 0;  // 0: no limit
  int64_t maxBytes = 0;       // 0: no limit
};

class Retention {
 public:
  void add(const std::string& stream, SegmentFile f);
  // Loads a stream's files (sorted by start) with their byte total as the index already knows it
  // (SUM from the database), replacing what was there.
  void restore(const std::string& stream, std::deque<SegmentFile> files, uint64_t bytes);
  // Forgets one file (deleted outside the server); false if it was not known.
  bool remove(const std::string& stream, const std::string& path);
  // Picks files to delete, oldest first: per stream over its own limits, then over the global
  // ones. Removes them from the accounting and returns them; the caller deletes them.
  std::vector<SegmentFile> collect(int64_t nowEpochMs,
                                   const std::function<Limits(const std::string&)>& limitsOf,
                                   Limits global);
  // The stream's files overlapping [fromMs, toMs), oldest first.
  std::vector<SegmentFile> query(const std::string& stream, int64_t fromMs, int64_t toMs) const;
  uint64_t totalBytes() const { return total_; }
  uint64_t streamBytes(const std::string& stream) const;
  size_t fileCount() const;

 private:
  std::map<std::string, std::deque<SegmentFile>> files_;  // each sorted by start time
  std::map<std::string, uint64_t> bytes_;
  uint64_t total_ = 0;
};

// "root/{app}/{stream}/YYYY/MM/DD/HHMMSS[-N].mp4" for a start time (UTC).
std::string segmentPath(const std::string& root, const std::string& stream, int64_t epochMs,
                        int suffix);
// The inverse, for the start-up scan: false unless `rel` (relative to root) has that layout.
bool parseSegmentPath(const std::string& rel, std::string* stream, int64_t* epochMs);
// Calls `fn` for every file under root laid out as a recording (one directory walk), with its
// path relative to root, stream, start time and size. Nothing is opened or probed.
void walkSegments(const std::string& root,
                  const std::function<void(const std::string& rel, const std::string& stream,
                                           int64_t startMs, uint64_t bytes)>& fn);
// Every recording under root, by stream (one directory walk, at start only). `durationMs` gives
// a file's media duration (probed), for its end time.
void scanRoot(const std::string& root, Retention& into,
              const std::function<int64_t(const std::string&)>& durationMs);

}  // namespace xl::recorder
