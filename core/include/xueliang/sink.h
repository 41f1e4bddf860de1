// Consumers of a stream. A Viewer receives one output format's muxed bytes on its own worker; a
// FrameSink sees the frames themselves on the stream's worker (recorder, health monitor, relay).
#pragma once

#include <vector>

#include "xueliang/frame.h"
#include "xueliang/muxer.h"
#include "xueliang/track.h"

namespace xl {

class Viewer {
 public:
  virtual ~Viewer() = default;
  // First delivery: the format's header and the cached GOP, starting on a keyframe.
  virtual void onJoin(const BufferRef& header, const std::vector<MuxedBatch>& gop) = 0;
  virtual void onBatch(const MuxedBatch& batch) = 0;
  // The publisher is gone; the viewer ends its session.
  virtual void onStreamEnd() = 0;
};

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void onMediaInfo(const MediaInfoPtr& info) {}
  // Read-only: the frame's bytes are shared with every other consumer.
  virtual void onFrame(const Frame& frame) = 0;
  virtual void onStreamEnd() {}
};

}  // namespace xl
