// Fragmented MP4 / CMAF writer for HLS (RFC 8216 3.3; ISO/IEC 14496-12 fragments, ISO/IEC 23000-19
// CMAF): one init segment (ftyp + moov, for EXT-X-MAP) and one media fragment (moof + mdat) per
// call, for H.264/H.265 video and AAC/Opus audio. Pure logic: no event loop, no sockets.
//
// Usage (one writer per stream and MediaInfo, on the stream's worker; mux once, share the bytes):
//
//   Fmp4Writer w;
//   Status s = w.setMediaInfo(*info);    // fails only when no track can be carried
//   BufferRef init = w.initSegment();     // serve as the EXT-X-MAP URI; immutable
//   ...collect the frames of one segment or LL-HLS part (both kinds, in arrival order)...
//   BufferRef frag = w.fragment(frames, sequence);  // moof + mdat; empty if nothing carried
//
// - `frames`: std::span<const Frame>, video and audio interleaved as they arrive. Config-only
//   frames and codecs the init segment does not carry (G.711, a track that failed) are skipped.
//   Video payloads are the core's 4-byte length-prefixed NAL units, stored as they are (the
//   sample entries say lengthSizeMinusOne = 3), so in-band parameter sets stay in the samples.
// - `sequence`: mfhd sequence_number; use a counter that increases by one per fragment (e.g.
//   across parts and segments of a stream).
// - Timing: video timescale 90 kHz (tfdt = dts ms * 90, composition offset = (pts - dts) * 90,
//   signed, trun version 1); audio timescale = the AAC core sampling rate / 48 kHz for Opus. A
//   sample lasts until the next sample of its track in the same call; the last one lasts the
//   previous duration (video; else 1/fps, else 40 ms), 1024 samples (AAC) or the TOC duration
//   (Opus). Audio decode times run on from the previous fragment while the source timestamps
//   agree within half a frame, so millisecond rounding does not make gaps; a larger jump
//   resynchronises to the source. Times before 0 are clamped to 0.
// - A video keyframe is a sync sample; other video samples are flagged non-sync and dependent;
//   audio samples are all sync. A fragment decodes on its own (a segment start, an INDEPENDENT
//   part) only when its first video frame is a keyframe: the caller cuts there.
// - When MediaInfo changes (new codec parameters), call setMediaInfo() again (it resets all
//   timing state, like a new writer) and serve the new init segment after an
//   EXT-X-DISCONTINUITY.
// Each fragment is written into one buffer allocated at its exact size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "xueliang/buffer.h"
#include "xueliang/frame.h"
#include "xueliang/status.h"
#include "xueliang/track.h"

namespace xl::hls {

inline constexpr uint32_t kFmp4VideoTrackId = 1;
inline constexpr uint32_t kFmp4AudioTrackId = 2;
inline constexpr uint32_t kFmp4VideoTimescale = 90000;

// Samples (at 48 kHz) in an Opus packet from its TOC byte (RFC 6716 3.1); 960 if malformed.
uint32_t opusPacketSamples(std::span<const uint8_t> packet);

class Fmp4Writer {
 public:
  // Video H.264/H.265 (avcC/hvcC) and audio AAC (AudioSpecificConfig) / Opus (OpusHead or
  // nothing) are carried. A track whose configuration does not parse is left out; the Status
  // then says why (and is an error only when nothing at all can be carried).
  Status setMediaInfo(const MediaInfo& info);
  bool hasVideo() const { return video_.active; }
  bool hasAudio() const { return audio_.active; }
  // Why a track was left out by setMediaInfo(), empty if none was.
  const std::string& warning() const { return warning_; }

  // ftyp (CMAF brands) + moov with one trak per carried track and mvex/trex. Built once.
  BufferRef initSegment() const { return init_; }
  // moof (mfhd, one traf per track with samples: tfhd, tfdt, trun) + mdat.
  BufferRef fragment(std::span<const Frame> frames, uint32_t sequence);

 private:
  struct TrackState {
    bool active = false;
    uint32_t id = 0;
    uint32_t timescale = 0;
    Codec codec = Codec::kNone;
    uint32_t defaultDuration = 0;  // last video sample when nothing better is known
    uint32_t lastDuration = 0;     // of the previous sample written
    bool haveNext = false;
    uint64_t nextTime = 0;  // audio: where the previous fragment ended
  };
  bool carries(const TrackState& t, const Frame& f) const;
  uint64_t toTimescale(const TrackState& t, int64_t ms) const;
  uint32_t nominalSamples(const TrackState& t, const Frame& f) const;
  void writeTraf(BufferWriter& out, TrackState& t, std::span<const Frame> frames, size_t count,
                 size_t& dataOffsetPos);

  TrackState video_, audio_;
  BufferRef init_;
  std::string warning_;
};

}  // namespace xl::hls
