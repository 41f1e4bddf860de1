#include "playback.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace xl::recorder {
namespace {

constexpr size_t kMaxCached = 4096;  // files; a full cache is dropped and refilled as needed

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

PlaybackService::PlaybackService() : thread_([this] { loop(); }) {}

PlaybackService::~PlaybackService() {
  {
    std::lock_guard lk(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool PlaybackService::post(std::function<void()> job) {
  {
    std::lock_guard lk(mu_);
    if (jobs_.size() >= kMaxQueued) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void PlaybackService::loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [this] { return quit_ || !jobs_.empty(); });
      if (quit_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

std::shared_ptr<const Mp4Index> PlaybackService::indexOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    cache_.erase(path);
    return nullptr;
  }
  int64_t mtime = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  auto it = cache_.find(path);
  if (it != cache_.end() && it->second.size == uint64_t(st.st_size) && it->second.mtimeNs == mtime)
    return it->second.index;
  auto idx = indexMp4File(path);
  std::shared_ptr<const Mp4Index> ptr;
  if (idx) ptr = std::make_shared<const Mp4Index>(std::move(*idx));
  if (cache_.size() >= kMaxCached) cache_.clear();
  cache_[path] = Cached{uint64_t(st.st_size), mtime, ptr};
  return ptr;
}

bool PlaybackService::playlist(std::vector<SegmentFile> files, int64_t fromMs, int64_t toMs,
                               std::function<void(Result<std::string>)> done) {
  return post([this, files = std::move(files), fromMs, toMs, done = std::move(done)] {
    std::vector<PlaybackFile> list;
    for (const SegmentFile& f : files) {
      PlaybackFile pf{fileId(f.path), f.startEpochMs, nullptr};
      if (pf.id.empty()) continue;
      pf.index = indexOf(f.path);  // an unreadable file is left out (a gap)
      if (pf.index) list.push_back(std::move(pf));
    }
    auto body = buildPlaylist(list, fromMs, toMs);
    if (!body) return done(Status::error("nothing recorded in the range"));
    done(std::move(*body));
  });
}

bool PlaybackService::read(std::string path, std::string rangeHeader,
                           std::function<void(MediaRange)> done) {
  return post(
      [path = std::move(path), rangeHeader = std::move(rangeHeader), done = std::move(done)] {
        MediaRange out;
        Fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
        struct stat st {};
        if (fd.fd < 0 || ::fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
          out.status = 404;
          out.error = "no such recording";
          return done(std::move(out));
        }
        out.fileSize = uint64_t(st.st_size);
        ByteRange r = parseByteRange(rangeHeader, out.fileSize);
        if (r.kind == ByteRange::kUnsatisfiable) {
          out.status = 416;
          return done(std::move(out));
        }
        uint64_t len = out.fileSize;
        if (r.kind == ByteRange::kRange) {
          out.status = 206;
          out.offset = r.offset;
          len = std::min(r.length, kMaxRead);
        } else if (len > kMaxRead) {
          out.status = 413;
          out.error = "file too large for one response: request byte ranges";
          return done(std::move(out));
        }
        Buffer* b = Buffer::allocate(len);
        BufferRef ref = BufferRef::adopt(b);
        size_t got = 0;
        while (got < len) {
          ssize_t n = ::pread(fd.fd, b->data() + got, len - got, off_t(out.offset + got));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;
          got += size_t(n);
        }
        if (got != len) {
          out.status = 404;
          out.error = "read error (file shorter than expected)";
          return done(std::move(out));
        }
        b->setSize(len);
        out.body = std::move(ref);
        done(std::move(out));
      });
}

}  // namespace xl::recorder
