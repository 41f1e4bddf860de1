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
  // A video batch of a format that coalesces audio: its first audioBytes bytes are the audio
  // frames that arrived since the previous video frame (see OutputFormat::coalesceAudio).
  uint32_t audioBytes = 0;
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
  // Optional: Prometheus text lines (with their # HELP/# TYPE) the format adds to /metrics.
  // Called on the admin thread.
  std::function<std::string()> metrics = {};
  // The stream holds this format's audio batches (up to Stream::kAudioHoldMs) and sends them in
  // one buffer with the next video frame, so a viewer costs one iovec and one write per video
  // frame. Only for formats whose viewers take all tracks as one byte stream (not per-track RTP).
  bool coalesceAudio = false;
  // The stream destroys this format's muxer when its last viewer leaves, for muxers that hold
  // costly state (a transcoder). Others keep theirs, so a returning RTSP viewer keeps its SSRC
  // and sequence numbers.
  bool releaseWhenIdle = false;
  // The format's muxer also gets the frames of MediaInfo::alternateAudio (flagged `alternate`),
  // to send instead of the main audio; other formats never see them.
  bool alternateAudio = false;
};

}  // namespace xl
