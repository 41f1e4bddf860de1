// One fragmented MP4 file written with libavformat. Fragments (moof+mdat) are cut at every video
// keyframe and at least once a second, and flushed to the file as they are cut, so a crash or
// power cut leaves every finished fragment playable. Packets are copied from the frames' shared
// buffers by the muxer (never re-encoded). Used on the writer thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "xueliang/frame.h"
#include "xueliang/status.h"
#include "xueliang/track.h"

struct AVFormatContext;
struct AVPacket;

namespace xl::recorder {

class Mp4File {
 public:
  // Creates `path` and writes the header. `note` receives a warning when the audio track cannot
  // be stored in MP4 and is skipped. A failed open keeps the errno-derived reason.
  static Result<std::unique_ptr<Mp4File>> open(const std::string& path, const MediaInfo& info,
                                               std::string* note);
  ~Mp4File();
  Mp4File(const Mp4File&) = delete;
  Mp4File& operator=(const Mp4File&) = delete;

  // Frame times are milliseconds; the file's time starts at the first frame written.
  Status write(const Frame& f);
  // Writes the last fragment and closes the file.
  Status close();
  bool hasVideo() const { return videoIndex_ >= 0; }
  bool hasAudio() const { return audioIndex_ >= 0; }
  int64_t firstDts() const { return base_; }
  int64_t lastDts() const { return last_; }
  uint64_t bytes() const;
  const std::string& path() const { return path_; }

 private:
  Mp4File() = default;
  AVFormatContext* oc_ = nullptr;
  AVPacket* pkt_ = nullptr;  // reused for every frame
  std::string path_;
  int videoIndex_ = -1;
  int audioIndex_ = -1;
  int64_t base_ = INT64_MIN;
  int64_t last_ = 0;
  int64_t lastDtsOf_[2] = {INT64_MIN, INT64_MIN};
  int64_t audioNext_ = INT64_MIN;  // AAC: the next frame's dts by sample count, in track ticks
  bool closed_ = false;
  bool headerWritten_ = false;
};

// A file's media duration in milliseconds as libavformat reads it; 0 if unreadable.
int64_t probeDurationMs(const std::string& path);

// libavformat's reason for an error code, e.g. "No space left on device".
std::string avError(int code);

}  // namespace xl::recorder
