// RTCP feedback from a browser (after SRTCP unprotection): NACK, PLI, FIR, REMB and
// transport-wide congestion control feedback. Must never crash or take more than the cap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "webrtc/rtcp_feedback.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  xl::webrtc::Feedback f;
  (void)xl::webrtc::readFeedback({data, size}, f, 64);
  if (f.nacked.size() > 64 || f.nacked.size() != f.nackSsrcs.size()) std::abort();
  if (f.reports.size() > xl::webrtc::Feedback::kMaxReports) std::abort();
  return 0;
}
