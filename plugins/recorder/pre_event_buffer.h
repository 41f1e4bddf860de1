// The last seconds of a stream, as frame references starting on a keyframe, kept on the stream's
// worker for event clips ("what happened just before the alarm"). Bounded by time (whole GOPs
// beyond `seconds` are dropped) and by a frame count, so a stream without keyframes cannot grow it.
#pragma once

#include <cstdint>
#include <deque>

#include "xueliang/frame.h"

namespace xl::recorder {

class PreEventBuffer {
 public:
  PreEventBuffer(int64_t keepMs, size_t maxFrames) : keepMs_(keepMs), maxFrames_(maxFrames) {}

  // `startPoint`: a frame a file may start with (a video keyframe, or any frame without video).
  void push(const Frame& f, bool startPoint) {
    if (startPoint) keys_.push_back(f.dts);
    if (keys_.empty()) return;  // nothing decodable yet
    frames_.push_back(f);
    if (keys_.size() == 1 && frames_.size() > maxFrames_) {
      clear();  // one GOP longer than the cap: start again at the next keyframe
      return;
    }
    // Drop the oldest GOP while the next keyframe still covers `keepMs_`, or when over the cap.
    while (keys_.size() > 1 && (keys_[1] <= f.dts - keepMs_ || frames_.size() > maxFrames_)) {
      keys_.pop_front();
      while (!frames_.empty() &&
             !(frames_.front().dts == keys_.front() && isStart(frames_.front())))
        frames_.pop_front();
    }
  }
  // The frames from the latest keyframe at or before now - preMs (the oldest one if none is),
  // to `fn` in order.
  template <typename Fn>
  void replay(int64_t preMs, Fn&& fn) const {
    if (frames_.empty()) return;
    int64_t from = keys_.front();
    for (int64_t k : keys_) {
      if (k <= frames_.back().dts - preMs) from = k;
    }
    bool started = false;
    for (const Frame& f : frames_) {
      if (!started && f.dts == from && isStart(f)) started = true;
      if (started) fn(f);
    }
  }
  size_t size() const { return frames_.size(); }
  void clear() {
    frames_.clear();
    keys_.clear();
  }
  void setVideo(bool hasVideo) { hasVideo_ = hasVideo; }

 private:
  bool isStart(const Frame& f) const {
    return hasVideo_ ? f.kind == MediaKind::kVideo && f.flags.key : true;
  }
  int64_t keepMs_;
  size_t maxFrames_;
  bool hasVideo_ = true;
  std::deque<Frame> frames_;
  std::deque<int64_t> keys_;  // dts of the start points in frames_
};

}  // namespace xl::recorder
