#include "xueliang/viewer_output.h"

namespace xl {

bool ViewerOutput::aboveHigh() const {
  return conn_.queuedBytes() > limits_.highWatermarkBytes ||
         conn_.queuedMediaMs() > limits_.highWatermarkMs;
}

bool ViewerOutput::belowLow() const {
  return conn_.queuedBytes() <= limits_.highWatermarkBytes / 2 &&
         conn_.queuedMediaMs() <= limits_.highWatermarkMs / 2;
}

bool ViewerOutput::admit(const MuxedBatch& b) {
  if (b.config) return true;
  if (b.kind == MediaKind::kAudio) return !aboveHigh();
  if (waitKey_) {
    if (!b.key || !belowLow()) return false;
    waitKey_ = false;
    return true;
  }
  if (aboveHigh()) {
    waitKey_ = true;
    return false;
  }
  return true;
}

void ViewerOutput::join(const BufferRef& header, const std::vector<MuxedBatch>& gop) {
  if (header) conn_.queue(header);
  for (const MuxedBatch& b : gop) {
    if (admit(b))
      conn_.queue(b.bytes, b.dts);
    else
      ++drops_, conn_.worker().stats().viewerDrops.add();
  }
  conn_.flush();
}

void ViewerOutput::deliver(const MuxedBatch& b) {
  if (conn_.closing()) return;
  if (!admit(b)) {
    ++drops_;
    conn_.worker().stats().viewerDrops.add();
    return;
  }
  conn_.queue(b.bytes, b.dts);
  conn_.flush();
}

bool ViewerOutput::stalled(uint64_t nowMs) const {
  return conn_.queuedBytes() > 0 && nowMs - conn_.lastProgressMs() > limits_.stallTimeoutMs;
}

}  // namespace xl
