// The writer thread's side of one recorded stream: opens a file at a keyframe, rotates at the
// first keyframe after the segment length, and on a disk error (ENOSPC, EROFS, EACCES, ...)
// raises the alert once, marks the channel failed and retries every `retry_seconds`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "mp4_file.h"
#include "recorder.h"
#include "retention.h"

namespace xl::recorder {

class StreamWriter {
 public:
  // `finished` is told about each closed file (for retention).
  StreamWriter(std::shared_ptr<Channel> ch,
               std::function<void(const std::string&, SegmentFile)> finished)
      : ch_(std::move(ch)), finished_(std::move(finished)) {}
  ~StreamWriter() {
    closeFile();
    closeClip();
  }

  void handle(Item& item, const RecorderConfig& cfg, int64_t nowMs);
  void closeFile();
  void closeClip();
  Channel& channel() { return *ch_; }

 private:
  bool openFile(const RecorderConfig& cfg, int64_t nowMs);
  void fail(const std::string& why, int retrySeconds, int64_t nowMs);
  void handleClip(Item& item);

  std::shared_ptr<Channel> ch_;
  std::function<void(const std::string&, SegmentFile)> finished_;
  MediaInfoPtr info_;
  std::unique_ptr<Mp4File> file_;
  std::unique_ptr<Mp4File> clip_;  // the event clip being written, if any
  int64_t fileStartEpochMs_ = 0;
  int64_t fileStartDts_ = 0;
  int64_t retryAtMs_ = 0;  // steady clock
  bool failed_ = false;
  bool audioNoted_ = false;
};

}  // namespace xl::recorder
