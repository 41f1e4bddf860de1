// The playback IO thread: builds HLS VOD playlists of recorded ranges (indexing each file once,
// cached while the file is unchanged) and reads byte ranges of recorded files, so that no worker
// loop ever waits on the disk. Jobs go through a bounded queue; when it is full they are refused.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mp4_index.h"
#include "playback_playlist.h"
#include "retention.h"
#include "xueliang/buffer.h"
#include "xueliang/status.h"

namespace xl::recorder {

struct MediaRange {
  int status = 200;  // 200, 206, 404, 413 or 416
  std::string error;
  BufferRef body;
  uint64_t offset = 0;
  uint64_t fileSize = 0;
};

class PlaybackService {
 public:
  static constexpr size_t kMaxQueued = 64;
  static constexpr uint64_t kMaxRead = 64u << 20;  // per response; longer ranges are shortened

  PlaybackService();
  ~PlaybackService();
  PlaybackService(const PlaybackService&) = delete;
  PlaybackService& operator=(const PlaybackService&) = delete;

  // `files`: the stream's finished files overlapping [fromMs, toMs), oldest first. `done` runs
  // on the IO thread with the playlist, or an error (nothing recorded in the range). False when
  // the queue is full.
  bool playlist(std::vector<SegmentFile> files, int64_t fromMs, int64_t toMs,
                std::function<void(Result<std::string>)> done);
  // Bytes of `path` for a Range header (empty: the whole file, up to kMaxRead).
  bool read(std::string path, std::string rangeHeader, std::function<void(MediaRange)> done);

 private:
  bool post(std::function<void()> job);
  void loop();
  std::shared_ptr<const Mp4Index> indexOf(const std::string& path);  // IO thread only

  struct Cached {
    uint64_t size = 0;
    int64_t mtimeNs = 0;
    std::shared_ptr<const Mp4Index> index;
  };
  std::map<std::string, Cached> cache_;  // IO thread only; bounded by clearing
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace xl::recorder
