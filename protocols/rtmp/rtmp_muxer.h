// Muxers for the "rtmp" and "flv" output formats. Both produce the same bytes for every viewer:
// RTMP messages carry absolute timestamps on message stream 1 with fmt 0 chunk headers (no
// per-viewer delta state), and HTTP-FLV tags come framed as HTTP/1.1 chunks.
#pragma once

#include "xueliang/muxer.h"

namespace xl::rtmp {

// The message stream id every RTMP viewer's createStream gets, so muxed bytes are shared.
inline constexpr uint32_t kPlayStreamId = 1;

class RtmpMuxer : public Muxer {
 public:
  explicit RtmpMuxer(uint32_t chunkSize) : chunkSize_(chunkSize) {}
  BufferRef header(const MediaInfo& info) override;
  BufferRef mux(const Frame& frame, const MediaInfo& info) override;

 private:
  uint32_t chunkSize_;
  BufferWriter body_{4096};  // scratch for the tag body
};

class FlvMuxer : public Muxer {
 public:
  BufferRef header(const MediaInfo& info) override;
  BufferRef mux(const Frame& frame, const MediaInfo& info) override;

 private:
  BufferWriter body_{4096};
};

}  // namespace xl::rtmp
