#include "stream_writer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

namespace xl::recorder {
namespace {

int64_t epochNowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

void StreamWriter::handle(Item& item, const RecorderConfig& cfg, int64_t nowMs) {
  if (item.kind == Item::kInfo) {
    // New codec parameters need a new file (the MP4 header holds them).
    if (file_) closeFile();
    info_ = item.info;
    return;
  }
  if (item.kind >= Item::kClipStart) return handleClip(item);
  if (item.kind == Item::kStop) {
    closeFile();
    return;
  }
  if (item.kind != Item::kFrame || !info_) return;
  const Frame& f = item.frame;
  if (f.flags.config) return;
  bool hasVideo = info_->video.has_value();
  bool startPoint = hasVideo ? (f.kind == MediaKind::kVideo && f.flags.key) : true;
  if (failed_ && nowMs < retryAtMs_) return;
  if (file_ && startPoint &&
      f.dts - fileStartDts_ >= int64_t(ch_->segmentSeconds.load(std::memory_order_relaxed)) * 1000)
    closeFile();
  if (!file_) {
    if (!startPoint || !openFile(cfg, nowMs)) return;
    fileStartDts_ = f.dts;
  }
  uint64_t before = file_->bytes();
  if (Status s = file_->write(f); !s) {
    fail(s.message(), cfg.retrySeconds, nowMs);
    closeFile();
    return;
  }
  ch_->bytesWritten.fetch_add(file_->bytes() - before, std::memory_order_relaxed);
}

bool StreamWriter::openFile(const RecorderConfig& cfg, int64_t nowMs) {
  namespace fs = std::filesystem;
  int64_t epoch = epochNowMs();
  std::string path;
  std::error_code ec;
  for (int suffix = 0; suffix < 100; ++suffix) {
    path = segmentPath(cfg.root, ch_->name, epoch, suffix);
    if (!fs::exists(path, ec)) break;
  }
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) {
    fail("cannot create directory for " + path + ": " + ec.message(), cfg.retrySeconds, nowMs);
    return false;
  }
  std::string note;
  auto f = Mp4File::open(path, *info_, &note);
  if (!f) {
    fail(f.message(), cfg.retrySeconds, nowMs);
    std::filesystem::remove(path, ec);
    return false;
  }
  if (!note.empty() && !audioNoted_) {
    spdlog::warn("recorder: {}: {}", ch_->name, note);
    audioNoted_ = true;
  }
  if (failed_) {
    spdlog::info("recorder: {}: recording resumed into {}", ch_->name, path);
    failed_ = false;
    ch_->failed.store(false);
  }
  file_ = std::move(*f);
  fileStartEpochMs_ = epoch;
  ch_->writing.store(true);
  spdlog::debug("recorder: {}: new file {}", ch_->name, path);
  return true;
}

void StreamWriter::closeFile() {
  if (!file_) return;
  Status s = file_->close();
  if (!s) spdlog::warn("recorder: {}: {}", ch_->name, s.message());
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(file_->path(), ec);
  if (!ec) {
    ch_->filesWritten.fetch_add(1, std::memory_order_relaxed);
    int64_t span = file_->lastDts() - file_->firstDts();
    if (finished_)
      finished_(ch_->name, SegmentFile{file_->path(), fileStartEpochMs_, size,
                                       fileStartEpochMs_ + std::max<int64_t>(span, 0)});
  }
  file_.reset();
  ch_->writing.store(false);
}

void StreamWriter::handleClip(Item& item) {
  if (item.kind == Item::kClipStart) {
    closeClip();
    if (!item.info || !item.path) return;
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(*item.path).parent_path(), ec);
    auto f = Mp4File::open(*item.path, *item.info, nullptr);
    if (!f) {
      spdlog::error("ALERT recorder: {}: event clip failed: {}", ch_->name, f.message());
      return;
    }
    clip_ = std::move(*f);
    return;
  }
  if (!clip_) return;
  if (item.kind == Item::kClipEnd) return closeClip();
  if (Status s = clip_->write(item.frame); !s) {
    spdlog::error("ALERT recorder: {}: event clip failed: {}", ch_->name, s.message());
    clip_.reset();
  }
}

void StreamWriter::closeClip() {
  if (!clip_) return;
  Status s = clip_->close();
  if (!s) {
    spdlog::error("ALERT recorder: {}: event clip failed: {}", ch_->name, s.message());
  } else {
    ch_->clipsWritten.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("recorder: {}: event clip {} written", ch_->name, clip_->path());
  }
  clip_.reset();
}

void StreamWriter::fail(const std::string& why, int retrySeconds, int64_t nowMs) {
  ch_->diskErrors.fetch_add(1, std::memory_order_relaxed);
  retryAtMs_ = nowMs + int64_t(retrySeconds) * 1000;
  {
    std::lock_guard lk(ch_->errorMu);
    ch_->lastError = why;
  }
  if (failed_) return;  // one alert per incident
  failed_ = true;
  ch_->failed.store(true);
  spdlog::error("ALERT recorder: {}: recording failed: {}; retrying every {} s", ch_->name, why,
                retrySeconds);
}

}  // namespace xl::recorder
