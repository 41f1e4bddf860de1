#include "retention.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>

namespace xl::recorder {

void Retention::add(const std::string& stream, SegmentFile f) {
  auto& list = files_[stream];
  auto pos = std::upper_bound(list.begin(), list.end(), f.startEpochMs,
                              [](int64_t t, const SegmentFile& s) { return t < s.startEpochMs; });
  bytes_[stream] += f.bytes;
  total_ += f.bytes;
  list.insert(pos, std::move(f));
}

void Retention::restore(const std::string& stream, std::deque<SegmentFile> files, uint64_t bytes) {
  total_ -= bytes_[stream];
  bytes_[stream] = bytes;
  total_ += bytes;
  files_[stream] = std::move(files);
}

bool Retention::remove(const std::string& stream, const std::string& path) {
  auto it = files_.find(stream);
  if (it == files_.end()) return false;
  auto& list = it->second;
  auto f =
      std::find_if(list.begin(), list.end(), [&](const SegmentFile& s) { return s.path == path; });
  if (f == list.end()) return false;
  bytes_[stream] -= f->bytes;
  total_ -= f->bytes;
  list.erase(f);
  return true;
}

uint64_t Retention::streamBytes(const std::string& stream) const {
  auto it = bytes_.find(stream);
  return it == bytes_.end() ? 0 : it->second;
}

size_t Retention::fileCount() const {
  size_t n = 0;
  for (auto& [_, l] : files_) n += l.size();
  return n;
}

std::vector<SegmentFile> Retention::collect(
    int64_t now, const std::function<Limits(const std::string&)>& limitsOf, Limits global) {
  std::vector<SegmentFile> out;
  auto popFront = [&](const std::string& stream, std::deque<SegmentFile>& list) {
    bytes_[stream] -= list.front().bytes;
    total_ -= list.front().bytes;
    out.push_back(std::move(list.front()));
    list.pop_front();
  };
  for (auto& [stream, list] : files_) {
    Limits l = limitsOf(stream);
    while (!list.empty()) {
      bool tooOld = l.maxAgeSeconds > 0 && list.front().startEpochMs < now - l.maxAgeSeconds * 1000;
      bool tooBig = l.maxBytes > 0 && bytes_[stream] > static_cast<uint64_t>(l.maxBytes);
      if (!tooOld && !tooBig) break;
      popFront(stream, list);
    }
  }
  while (true) {
    // The oldest file over all streams.
    std::deque<SegmentFile>* oldest = nullptr;
    const std::string* oldestStream = nullptr;
    for (auto& [stream, list] : files_) {
      if (!list.empty() && (!oldest || list.front().startEpochMs < oldest->front().startEpochMs)) {
        oldest = &list;
        oldestStream = &stream;
      }
    }
    if (!oldest) break;
    bool tooOld = global.maxAgeSeconds > 0 &&
                  oldest->front().startEpochMs < now - global.maxAgeSeconds * 1000;
    bool tooBig = global.maxBytes > 0 && total_ > static_cast<uint64_t>(global.maxBytes);
    if (!tooOld && !tooBig) break;
    popFront(*oldestStream, *oldest);
  }
  return out;
}

std::string segmentPath(const std::string& root, const std::string& stream, int64_t epochMs,
                        int suffix) {
  time_t secs = static_cast<time_t>(epochMs / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "/%04d/%02d/%02d/%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string p = root + "/" + stream + buf;
  if (suffix > 0) p.append("-").append(std::to_string(suffix));
  return p + ".mp4";
}

bool parseSegmentPath(const std::string& rel, std::string* stream, int64_t* epochMs) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string::npos) slash = rel.size();
    parts.push_back(rel.substr(start, slash - start));
    start = slash + 1;
  }
  if (parts.size() != 6) return false;
  for (size_t i = 0; i < 2; ++i) {
    if (parts[i].empty()) return false;
  }
  const std::string& file = parts[5];
  if (!file.ends_with(".mp4") || file.size() < 10) return false;
  auto digits = [](const std::string& s, size_t n) {
    return s.size() == n &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  std::string hms = file.substr(0, 6);
  std::string rest = file.substr(6, file.size() - 10);
  if (!digits(parts[2], 4) || !digits(parts[3], 2) || !digits(parts[4], 2) || !digits(hms, 6))
    return false;
  if (!rest.empty() && (rest[0] != '-' || !digits(rest.substr(1), rest.size() - 1))) return false;
  struct tm tm {};
  tm.tm_year = std::stoi(parts[2]) - 1900;
  tm.tm_mon = std::stoi(parts[3]) - 1;
  tm.tm_mday = std::stoi(parts[4]);
  tm.tm_hour = std::stoi(hms.substr(0, 2));
  tm.tm_min = std::stoi(hms.substr(2, 2));
  tm.tm_sec = std::stoi(hms.substr(4, 2));
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60)
    return false;
  *stream = parts[0] + "/" + parts[1];
  *epochMs = static_cast<int64_t>(timegm(&tm)) * 1000;
  return true;
}

std::vector<SegmentFile> Retention::query(const std::string& stream, int64_t fromMs,
                                          int64_t toMs) const {
  std::vector<SegmentFile> out;
  auto it = files_.find(stream);
  if (it == files_.end()) return out;
  for (const SegmentFile& f : it->second) {
    if (f.startEpochMs < toMs && std::max(f.endEpochMs, f.startEpochMs) >= fromMs) out.push_back(f);
  }
  return out;
}

std::vector<Gap> findGaps(const std::vector<SegmentFile>& segments, int64_t fromMs, int64_t toMs,
                          int64_t toleranceMs) {
  std::vector<Gap> out;
  int64_t covered = fromMs;
  for (const SegmentFile& f : segments) {
    if (f.startEpochMs - covered > toleranceMs) out.push_back({covered, f.startEpochMs});
    covered = std::max(covered, f.endEpochMs);
  }
  if (toMs - covered > toleranceMs) out.push_back({covered, toMs});
  return out;
}

void walkSegments(
    const std::string& root,
    const std::function<void(const std::string&, const std::string&, int64_t, uint64_t)>& fn) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string rel = fs::relative(it->path(), root, ec).generic_string();
    std::string stream;
    int64_t start = 0;
    if (!parseSegmentPath(rel, &stream, &start)) continue;
    fn(rel, stream, start, static_cast<uint64_t>(it->file_size(ec)));
  }
}

void scanRoot(const std::string& root, Retention& into,
              const std::function<int64_t(const std::string&)>& durationMs) {
  walkSegments(
      root, [&](const std::string& rel, const std::string& stream, int64_t start, uint64_t bytes) {
        SegmentFile f{(std::filesystem::path(root) / rel).string(), start, bytes, start};
        if (durationMs) f.endEpochMs = start + durationMs(f.path);
        into.add(stream, std::move(f));
      });
}

}  // namespace xl::recorder
