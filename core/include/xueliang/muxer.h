// Muxer: turns a stream's frames into one protocol's bytes, once per stream. Every viewer of that
// protocol, on every worker, sends the same frozen buffers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "xueliang/buffer.h"
#include "xueliang/frame.h"
#include "xueliang/track.h"

namespace xl {

// One frame's muxed bytes. Copying it shares the bytes (one refcount increment).
struct MuxedBatch {
  BufferRef bytes;
  int64_t dts = 0;  // ms, for back-pressure accounting
  MediaKind kind = MediaKind::kVideo;
  bool key = false;     // a viewer may start (or resume) here
  bool config = false;  // codec configuration: never dropped
};

class Muxer {
 public:
  virtual ~Muxer() = default;
  // Bytes a new viewer receives before anything else (file header, metadata, sequence headers),
  // for the current media description.
  virtual BufferRef header(const MediaInfo& info) = 0;
  // The bytes of one frame; an empty ref when this protocol carries nothing for it.
  virtual BufferRef mux(const Frame& frame, const MediaInfo& info) = 0;
};

// A viewer-facing output format a protocol module offers (e.g. "rtmp", "flv"). The server gives
// each an index; a stream creates the muxer lazily when the first viewer of that format comes.
struct OutputFormat {
  std::string name;
  std::function<std::unique_ptr<Muxer>()> createMuxer;
};

}  // namespace xl
