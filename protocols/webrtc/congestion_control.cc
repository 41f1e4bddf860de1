#include "webrtc/congestion_control.h"

namespace xl::webrtc {

bool ViewerCongestion::estimateBelowStream(uint64_t nowMs) const {
  if (!haveEstimate_ || streamBps_ == 0) return false;
  if (nowMs - startMs_ < kSettleMs || nowMs - estimateAtMs_ > kStaleMs) return false;
  return estimateBps_ < streamBps_;
}

void ViewerCongestion::onEstimate(uint64_t bps, uint64_t nowMs) {
  estimateBps_ = bps;
  estimateAtMs_ = nowMs;
  haveEstimate_ = true;
  // A drop mid-GOP takes effect at once (unless this GOP is the probe after a skipped one).
  if (!lastGopSkipped_ && estimateBelowStream(nowMs)) congested_ = true;
}

bool ViewerCongestion::admit(bool keyframe, uint64_t nowMs) {
  if (keyframe) {
    // The GOP that follows a skipping one goes out whole; otherwise the estimate decides.
    lastGopSkipped_ = congested_;
    congested_ = !lastGopSkipped_ && estimateBelowStream(nowMs);
    return true;
  }
  if (!congested_) return true;
  ++skipped_;
  return false;
}

bool ViewerCongestion::onKeyframeRequest(uint64_t nowMs) {
  ++requests_;
  if (restarted_ && nowMs - lastRestartMs_ < kRestartIntervalMs) return false;
  restarted_ = true;
  lastRestartMs_ = nowMs;
  ++restarts_;
  return true;
}

}  // namespace xl::webrtc
