// ViewerOutput: the back-pressure policy every viewer session shares (DESIGN.md §4.6). Above the
// high watermark (media time or bytes queued) a viewer skips video until the next keyframe and
// drops audio, so a viewer that stops reading costs at most its watermark; codec configuration is
// never dropped. A viewer that makes no write progress for the stall timeout is disconnected.
#pragma once

#include <cstdint>
#include <vector>

#include "xueliang/connection.h"
#include "xueliang/muxer.h"

namespace xl {

struct ViewerLimits {
  int64_t highWatermarkMs = 2000;
  size_t highWatermarkBytes = 4 << 20;
  uint64_t stallTimeoutMs = 10000;
};

class ViewerOutput {
 public:
  ViewerOutput(TcpConnection& conn, const ViewerLimits& limits) : conn_(conn), limits_(limits) {}

  // Queues the format header and cached GOP (which starts on a keyframe), then writes.
  void join(const BufferRef& header, const std::vector<MuxedBatch>& gop);
  // Applies the drop policy, queues, writes.
  void deliver(const MuxedBatch& batch);
  // True when output has been waiting longer than the stall timeout with no progress.
  bool stalled(uint64_t nowMs) const;
  uint64_t drops() const { return drops_; }

 private:
  bool admit(const MuxedBatch& b);
  bool aboveHigh() const;
  bool belowLow() const;

  TcpConnection& conn_;
  ViewerLimits limits_;
  bool waitKey_ = true;  // video starts (and resumes) on a keyframe
  uint64_t drops_ = 0;
};

}  // namespace xl
