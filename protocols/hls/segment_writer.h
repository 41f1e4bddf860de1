// SegmentWriter: the container half of HLS segmenting. The segmenter decides where segments and
// LL-HLS parts begin and end (container-independent); a writer turns the frames of one part
// into bytes: MPEG-TS packets (RFC 8216 3.2) or a CMAF fragment, moof + mdat (RFC 8216 3.3).
// A segment is the concatenation of its parts. One writer per stream and track description, on
// the stream's worker.
#pragma once

#include <memory>

#include "hls/playlist.h"
#include "xueliang/buffer.h"
#include "xueliang/frame.h"
#include "xueliang/status.h"
#include "xueliang/track.h"

namespace xl::hls {

class SegmentWriter {
 public:
  virtual ~SegmentWriter() = default;
  // Tracks of the stream; a track that cannot be carried is left out.
  virtual Status setMediaInfo(const MediaInfo& info) = 0;
  virtual bool hasVideo() const = 0;
  virtual bool hasAudio() const = 0;
  // fMP4: ftyp + moov for EXT-X-MAP; empty for TS.
  virtual BufferRef initSegment() const = 0;
  // A part starts; its first frame comes next.
  virtual void beginPart() = 0;
  // A frame of the open part (only tracks the writer carries are passed).
  virtual void addFrame(const Frame& f) = 0;
  // The bytes of the open part (empty if nothing was carried).
  virtual BufferRef endPart() = 0;
};

// TS: each part starts with PAT and PMT, so that any part is self-describing; continuity
// counters run on across parts and segments.
std::unique_ptr<SegmentWriter> makeTsWriter();
// fMP4/CMAF: init segment plus one moof+mdat fragment per part.
std::unique_ptr<SegmentWriter> makeFmp4Writer();
std::unique_ptr<SegmentWriter> makeWriter(Container c);

}  // namespace xl::hls
