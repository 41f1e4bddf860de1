// MPEG-2 transport stream writer for HLS segments (ISO/IEC 13818-1; RFC 8216 3.2): PAT and PMT
// at the start of every segment, one PES per access unit, PCR on the video PID (audio PID when
// there is no video), continuity counters that run on across segments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "xueliang/buffer.h"
#include "xueliang/codec.h"
#include "xueliang/frame.h"
#include "xueliang/status.h"
#include "xueliang/track.h"

namespace xl::hls {

inline constexpr size_t kTsPacketSize = 188;
inline constexpr uint16_t kPatPid = 0x0000;
inline constexpr uint16_t kPmtPid = 0x1000;
inline constexpr uint16_t kVideoPid = 0x0100;
inline constexpr uint16_t kAudioPid = 0x0101;
// stream_type values, ISO/IEC 13818-1 Table 2-34 (0x24: HEVC, Amendment 3).
inline constexpr uint8_t kStreamTypeAacAdts = 0x0F;
inline constexpr uint8_t kStreamTypeH264 = 0x1B;
inline constexpr uint8_t kStreamTypeH265 = 0x24;
// Timestamps are frame milliseconds * 90 plus this offset, so that PCR (kept kPcrLead before
// the video DTS) never goes negative. 33-bit wrap-around is applied.
inline constexpr int64_t kTsTimeOffset = 90000;
inline constexpr int64_t kPcrLead = 45000;

// CRC_32 of PSI sections, ISO/IEC 13818-1 Annex A (polynomial 0x04C11DB7, MSB first, initial
// value 0xFFFFFFFF, no final XOR).
uint32_t crc32Mpeg(std::span<const uint8_t> data);

// 33-bit PTS/DTS in 90 kHz units for a frame time in ms.
uint64_t tsTime90k(int64_t ms);

class TsMuxer {
 public:
  // Tracks of the stream. Video H.264/H.265 and AAC are carried; other codecs are skipped.
  // Fails (and carries nothing for that track) when a configuration record does not parse.
  Status setMediaInfo(const MediaInfo& info);
  bool hasVideo() const { return videoType_ != 0; }
  bool hasAudio() const { return audioType_ != 0; }

  // PAT and PMT (ISO/IEC 13818-1 2.4.4.3, 2.4.4.8), written at the start of each segment.
  void writeTables(BufferWriter& out);
  // One frame as a PES (2.4.3.6). Config-only frames and untracked codecs write nothing. A
  // video keyframe sets random_access_indicator in its first packet.
  Status writeFrame(const Frame& f, BufferWriter& out);

 private:
  void writePes(uint16_t pid, uint8_t streamId, uint64_t pts, const uint64_t* dts, bool pcr,
                bool randomAccess, bool boundedLength, BufferWriter& out);
  void writeSection(uint16_t pid, std::span<const uint8_t> section, BufferWriter& out);
  Status buildVideoEs(const Frame& f);
  uint8_t& cc(uint16_t pid);

  uint8_t videoType_ = 0;
  uint8_t audioType_ = 0;
  Codec videoCodec_ = Codec::kNone;
  ParameterSets ps_;  // from avcC / hvcC, sent before each keyframe
  aac::AudioSpecificConfig asc_;
  uint8_t ccPat_ = 0, ccPmt_ = 0, ccVideo_ = 0, ccAudio_ = 0;
  std::vector<uint8_t> es_;  // scratch: the elementary stream bytes of one PES
};

}  // namespace xl::hls
