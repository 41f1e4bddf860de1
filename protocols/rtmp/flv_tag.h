// FLV tag bodies as carried in RTMP audio/video messages and FLV files (FLV 10.1 spec, annex E),
// including Enhanced RTMP (v1/v2) FourCC video headers, plus FLV file and tag framing.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "xueliang/buffer.h"
#include "xueliang/frame.h"
#include "xueliang/status.h"

namespace xl::rtmp {

constexpr uint32_t fourcc(const char (&s)[5]) {
  return uint32_t(uint8_t(s[0])) << 24 | uint32_t(uint8_t(s[1])) << 16 |
         uint32_t(uint8_t(s[2])) << 8 | uint32_t(uint8_t(s[3]));
}

// Legacy CodecID values (E.4.3.1); 12 is the HEVC extension used by Chinese CDNs.
inline constexpr uint8_t kFlvCodecAvc = 7;
inline constexpr uint8_t kFlvCodecHevcLegacy = 12;
// SoundFormat values (E.4.2.1); 9 is Enhanced RTMP v2's ExAudioTagHeader.
inline constexpr uint8_t kFlvSoundG711A = 7;
inline constexpr uint8_t kFlvSoundG711U = 8;
inline constexpr uint8_t kFlvSoundExHeader = 9;
inline constexpr uint8_t kFlvSoundAac = 10;

enum class FlvPacket : uint8_t {
  kSequenceHeader,  // decoder configuration (avcC / hvcC / AudioSpecificConfig)
  kCodedFrames,     // media data
  kEndOfSequence,
  kIgnored,  // command frames, metadata, MPEG-2 TS sequence start, multitrack: nothing to play
};

// A parsed VIDEODATA body. `data` points into the parsed span; keep its owner alive.
struct FlvVideoTag {
  Codec codec = Codec::kNone;  // kNone: a codec we do not handle (see codecId / fourCc)
  uint8_t frameType = 0;       // 1 key, 2 inter, 3 disposable, 4 generated key, 5 command
  bool keyframe = false;
  bool enhanced = false;  // Enhanced RTMP ExVideoTagHeader
  uint8_t codecId = 0;    // legacy CodecID; 0 when enhanced
  uint32_t fourCc = 0;    // enhanced FourCC, e.g. fourcc("hvc1")
  FlvPacket packet = FlvPacket::kIgnored;
  int32_t compositionTime = 0;  // ms, pts - dts
  // kSequenceHeader: the decoder configuration record; kCodedFrames: length-prefixed NAL units.
  std::span<const uint8_t> data;
};

// A parsed AUDIODATA body.
struct FlvAudioTag {
  Codec codec = Codec::kNone;
  uint8_t soundFormat = 0;
  uint32_t fourCc = 0;  // Enhanced RTMP v2 audio FourCC, e.g. fourcc("mp4a")
  int sampleRate = 0;   // from the flags (AAC: 44100 by convention; read the ASC instead)
  int channels = 0;
  int bitsPerSample = 0;
  FlvPacket packet = FlvPacket::kIgnored;
  std::span<const uint8_t> data;  // kSequenceHeader: AudioSpecificConfig; else raw frames
};

Result<FlvVideoTag> parseVideoTag(std::span<const uint8_t> body);
Result<FlvAudioTag> parseAudioTag(std::span<const uint8_t> body);

// How to signal H.265 towards a peer: Enhanced RTMP FourCC 'hvc1', or legacy CodecID 12.
enum class HevcTagForm : uint8_t { kEnhanced, kLegacy12 };

// Tag bodies from frames (frame.h: 4-byte length-prefixed NAL units; config frames carry the
// avcC/hvcC record). The RTMP/FLV timestamp is the frame's dts; pts - dts goes in the tag.
Status writeVideoTag(BufferWriter& w, const Frame& f, HevcTagForm form = HevcTagForm::kEnhanced);
Status writeVideoConfigTag(BufferWriter& w, Codec codec, std::span<const uint8_t> record,
                           HevcTagForm form = HevcTagForm::kEnhanced);
Status writeVideoEndOfSequenceTag(BufferWriter& w, Codec codec,
                                  HevcTagForm form = HevcTagForm::kEnhanced);
// AAC (config frames carry the AudioSpecificConfig), G.711 A-law/µ-law.
Status writeAudioTag(BufferWriter& w, const Frame& f);
Status writeAacConfigTag(BufferWriter& w, std::span<const uint8_t> audioSpecificConfig);

// FLV file framing (E.2, E.3).
enum FlvTagType : uint8_t { kFlvTagAudio = 8, kFlvTagVideo = 9, kFlvTagScript = 18 };
inline constexpr size_t kFlvFileHeaderSize = 13;  // 9-byte header + PreviousTagSize0
inline constexpr size_t kFlvTagHeaderSize = 11;
void writeFlvFileHeader(BufferWriter& w, bool hasAudio, bool hasVideo);
// Tag header, body, PreviousTagSize. Bodies must be < 16 MiB (24-bit DataSize).
Status writeFlvTag(BufferWriter& w, uint8_t tagType, uint32_t timestamp,
                   std::span<const uint8_t> body);
// Just the 11-byte header, for callers that append the body themselves.
void writeFlvTagHeader(BufferWriter& w, uint8_t tagType, uint32_t timestamp, uint32_t bodySize);

// onMetaData script body (E.5): "onMetaData" + ECMA array. Zero fields are left out.
struct FlvMetadata {
  double width = 0;
  double height = 0;
  double framerate = 0;
  double videoCodecId = 0;  // 7, 12, or a FourCC value such as fourcc("hvc1") (Enhanced RTMP)
  double audioCodecId = 0;  // 10 AAC, 7/8 G.711
  double audioSampleRate = 0;
  double audioChannels = 0;
  std::string encoder;
};
void writeOnMetaDataBody(BufferWriter& w, const FlvMetadata& m);

}  // namespace xl::rtmp
