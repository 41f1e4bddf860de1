// ViewerCongestion: how one WebRTC viewer reacts to what its browser reports about the link.
//
// REMB (or another receiver estimate) below the stream's bitrate means the link cannot carry
// every frame: the viewer then skips non-key video frames until the next keyframe, where the
// decision is made again, so the picture freezes on keyframes instead of breaking up. A GOP that
// followed a skipped one is sent whole: the estimate is measured on what arrives, and only full
// GOPs let it climb back once the link recovers. Estimates older than kStaleMs are ignored, as
// are those of the first kSettleMs (a browser's estimate starts low and ramps up).
//
// PLI/FIR (the decoder lost its reference): the viewer restarts on the stream's cached keyframe,
// at most once per kRestartIntervalMs; requests within that interval are only counted.
#pragma once

#include <cstdint>

namespace xl::webrtc {

class ViewerCongestion {
 public:
  static constexpr uint64_t kStaleMs = 5000;
  static constexpr uint64_t kSettleMs = 3000;
  static constexpr uint64_t kRestartIntervalMs = 1000;

  // The session started sending media at `nowMs`.
  void start(uint64_t nowMs) { startMs_ = nowMs; }
  // The stream's current bitrate (0: unknown, never congested).
  void setStreamBitrate(uint64_t bps) { streamBps_ = bps; }
  // A receiver estimate of the bandwidth available, bits per second.
  void onEstimate(uint64_t bps, uint64_t nowMs);
  // For each video frame, in order: whether to send it.
  bool admit(bool keyframe, uint64_t nowMs);
  // A keyframe request: true if the viewer is to restart on the cached keyframe now.
  bool onKeyframeRequest(uint64_t nowMs);

  bool congested() const { return congested_; }
  uint64_t estimateBps() const { return estimateBps_; }
  uint64_t skipped() const { return skipped_; }
  uint64_t restarts() const { return restarts_; }
  uint64_t keyframeRequests() const { return requests_; }

 private:
  bool estimateBelowStream(uint64_t nowMs) const;

  uint64_t startMs_ = 0;
  uint64_t streamBps_ = 0;
  uint64_t estimateBps_ = 0;
  uint64_t estimateAtMs_ = 0;
  bool haveEstimate_ = false;
  bool congested_ = false;       // skipping this GOP's non-key frames
  bool lastGopSkipped_ = false;  // the next GOP goes out whole
  bool restarted_ = false;
  uint64_t lastRestartMs_ = 0;
  uint64_t skipped_ = 0, restarts_ = 0, requests_ = 0;
};

}  // namespace xl::webrtc
