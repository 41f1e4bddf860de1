// Codec knowledge: bitstream parsing of H.264 / H.265 parameter sets, their MP4 configuration
// records (avcC / hvcC), NAL unit framing, and AAC AudioSpecificConfig / ADTS.
// Everything here parses untrusted bytes: functions return Status / Result and never throw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "xueliang/buffer.h"
#include "xueliang/frame.h"
#include "xueliang/status.h"
#include "xueliang/track.h"

namespace xl {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

// ---------------------------------------------------------------------------------------------
// Bit reading (ITU-T H.264 7.2 / H.265 7.2 descriptors u(n), ue(v), se(v)).

// MSB-first bit reader. Reading past the end yields zeros and sets a sticky failure flag, so a
// parser can read a whole structure and check failed() once at checkpoints.
class BitReader {
 public:
  explicit BitReader(ByteSpan data) : data_(data) {}
  uint32_t bits(int n);  // n in [0, 32]
  bool flag() { return bits(1) != 0; }
  // Exp-Golomb (H.264 9.1). Codes longer than 32 bits fail.
  uint32_t ue();
  int32_t se();
  void skipBits(size_t n);
  bool failed() const { return failed_; }
  size_t bitsLeft() const { return pos_ >= data_.size() * 8 ? 0 : data_.size() * 8 - pos_; }
  bool byteAligned() const { return pos_ % 8 == 0; }

 private:
  ByteSpan data_;
  size_t pos_ = 0;
  bool failed_ = false;
};

// Removes emulation_prevention_three_byte (0x000003 -> 0x0000) (H.264 7.4.1, H.265 7.4.2).
Bytes nalToRbsp(ByteSpan nal);

// ---------------------------------------------------------------------------------------------
// NAL unit framing: Annex B byte streams and length-prefixed (MP4/FLV) access units.

enum class NalFormat : uint8_t { kAnnexB, kLengthPrefixed };

// True when the data begins with a 3- or 4-byte start code.
bool looksLikeAnnexB(ByteSpan data);

// Iterates NAL units (payload without start code or length). For Annex B, bytes before the
// first start code and trailing zero bytes are dropped; empty NAL units are skipped. For
// length-prefixed input a length running past the end stops iteration and sets malformed().
class NalIterator {
 public:
  NalIterator(ByteSpan data, NalFormat format, int lengthSize = 4);
  bool next(ByteSpan& nal);
  bool malformed() const { return malformed_; }

 private:
  ByteSpan data_;
  size_t pos_ = 0;
  NalFormat format_;
  int lengthSize_;
  bool malformed_ = false;
};

// Annex B -> 4-byte big-endian lengths (the Frame payload form).
Result<BufferRef> annexBToLengthPrefixed(ByteSpan annexB);
// Length-prefixed (1, 2 or 4 byte lengths) -> Annex B with 4-byte start codes.
Result<BufferRef> lengthPrefixedToAnnexB(ByteSpan data, int lengthSize = 4);

// Parameter sets found in an access unit or configuration record, in stream order.
struct ParameterSets {
  std::vector<Bytes> vps;  // H.265 only
  std::vector<Bytes> sps;
  std::vector<Bytes> pps;
  bool empty() const { return vps.empty() && sps.empty() && pps.empty(); }
};

// Collects VPS/SPS/PPS NAL units sent in-band (cameras often repeat them before each IDR).
// Identical duplicates are kept once.
Result<ParameterSets> extractParameterSets(Codec codec, ByteSpan au, NalFormat format);

// Keyframe test on a 4-byte length-prefixed access unit: IDR (H.264) or IRAP (H.265).
// Malformed input is reported as "not a keyframe".
bool isKeyframe(Codec codec, ByteSpan au);

// ---------------------------------------------------------------------------------------------
// H.264 / AVC

namespace h264 {

enum NalType : uint8_t {
  kNalSlice = 1,
  kNalIdr = 5,
  kNalSei = 6,
  kNalSps = 7,
  kNalPps = 8,
  kNalAud = 9,
};
inline uint8_t nalType(uint8_t header) {
  return header & 0x1f;
}
bool isKeyframe(ByteSpan au);  // 4-byte length-prefixed

struct Sps {
  uint8_t profileIdc = 0;
  uint8_t constraintFlags = 0;  // constraint_set0..5 flags, byte as in the bitstream
  uint8_t levelIdc = 0;
  uint32_t spsId = 0;
  uint32_t chromaFormatIdc = 1;
  uint32_t bitDepthLuma = 8;
  uint32_t bitDepthChroma = 8;
  bool frameMbsOnly = true;
  int width = 0;   // after frame cropping
  int height = 0;  // after frame cropping
};

// Parses an SPS NAL unit (header byte included), ITU-T H.264 7.3.2.1.1.
Result<Sps> parseSps(ByteSpan nal);
// Profile name per H.264 Annex A ("Baseline", "Constrained Baseline", "Main", "High", ...).
std::string_view profileName(uint8_t profileIdc, uint8_t constraintFlags);

// AVCDecoderConfigurationRecord, ISO/IEC 14496-15 5.3.3.1.
struct AvcConfig {
  uint8_t profileIdc = 0;
  uint8_t profileCompatibility = 0;
  uint8_t levelIdc = 0;
  uint8_t lengthSize = 4;  // 1, 2 or 4
  std::vector<Bytes> sps;
  std::vector<Bytes> pps;
  // High-profile extension; present only when the record carries it.
  bool hasExtension = false;
  uint8_t chromaFormat = 1;
  uint8_t bitDepthLuma = 8;
  uint8_t bitDepthChroma = 8;
};
Result<AvcConfig> parseAvcC(ByteSpan record);
// Builds avcC (4-byte lengths) from at least one SPS and one PPS.
Result<BufferRef> buildAvcC(const ParameterSets& ps);

}  // namespace h264

// ---------------------------------------------------------------------------------------------
// H.265 / HEVC

namespace h265 {

enum NalType : uint8_t {
  kNalBlaWLp = 16,
  kNalIdrWRadl = 19,
  kNalIdrNLp = 20,
  kNalCra = 21,
  kNalVps = 32,
  kNalSps = 33,
  kNalPps = 34,
  kNalAud = 35,
  kNalPrefixSei = 39,
  kNalSuffixSei = 40,
};
inline uint8_t nalType(uint8_t header0) {
  return (header0 >> 1) & 0x3f;
}
inline bool isIrap(uint8_t type) {
  return type >= 16 && type <= 23;
}
bool isKeyframe(ByteSpan au);  // 4-byte length-prefixed

// General part of profile_tier_level(), H.265 7.3.3.
struct ProfileTierLevel {
  uint8_t profileSpace = 0;
  bool tier = false;
  uint8_t profileIdc = 0;
  uint32_t compatibilityFlags = 0;  // bit 31 = general_profile_compatibility_flag[0]
  uint64_t constraintFlags = 0;     // 48 bits from general_progressive_source_flag on
  uint8_t levelIdc = 0;             // 30 x level, e.g. 93 = 3.1
};

struct Vps {
  uint8_t vpsId = 0;
  uint8_t maxSubLayers = 1;
  ProfileTierLevel ptl;
};

struct Sps {
  uint8_t vpsId = 0;
  uint8_t maxSubLayers = 1;
  bool temporalIdNesting = false;
  ProfileTierLevel ptl;
  uint32_t spsId = 0;
  uint32_t chromaFormatIdc = 1;
  uint32_t bitDepthLuma = 8;
  uint32_t bitDepthChroma = 8;
  int width = 0;   // after the conformance window
  int height = 0;  // after the conformance window
};

// Both take the NAL unit with its 2-byte header (H.265 7.3.2.1, 7.3.2.2.1).
Result<Vps> parseVps(ByteSpan nal);
Result<Sps> parseSps(ByteSpan nal);
std::string_view profileName(const ProfileTierLevel& ptl);

// HEVCDecoderConfigurationRecord, ISO/IEC 14496-15 8.3.3.1.
struct HevcConfig {
  ProfileTierLevel ptl;
  uint16_t minSpatialSegmentation = 0;
  uint8_t parallelismType = 0;
  uint8_t chromaFormat = 1;
  uint8_t bitDepthLuma = 8;
  uint8_t bitDepthChroma = 8;
  uint16_t avgFrameRate = 0;
  uint8_t constantFrameRate = 0;
  uint8_t numTemporalLayers = 1;
  bool temporalIdNested = false;
  uint8_t lengthSize = 4;
  ParameterSets ps;
  std::vector<Bytes> sei;  // prefix/suffix SEI arrays, kept for completeness
};
Result<HevcConfig> parseHvcC(ByteSpan record);
// Builds hvcC (4-byte lengths) from one or more VPS, SPS and PPS; header fields come from the
// first SPS.
Result<BufferRef> buildHvcC(const ParameterSets& ps);

}  // namespace h265

// ---------------------------------------------------------------------------------------------
// AAC

namespace aac {

// Sampling rate for samplingFrequencyIndex (ISO/IEC 14496-3 1.6.3.4); 0 if reserved/escape.
int sampleRateForIndex(uint8_t index);
// Index for a rate in the table, or -1.
int indexForSampleRate(int rate);

// AudioSpecificConfig, ISO/IEC 14496-3 1.6.2.1 (fields needed to describe a track).
struct AudioSpecificConfig {
  uint8_t objectType = 0;           // after escape (31 -> 32 + 6 bits); the core type for SBR/PS
  uint8_t frequencyIndex = 0;       // 15 = explicit 24-bit frequency
  int sampleRate = 0;               // core sampling rate
  uint8_t channelConfig = 0;        // 0 = defined by a program_config_element (not parsed)
  int channels = 0;                 // derived from channelConfig; 0 when unknown
  uint8_t extensionObjectType = 0;  // 5 (SBR) or 29 (PS) with explicit hierarchical signalling
  int extensionSampleRate = 0;      // output rate when SBR is signalled
  int outputSampleRate() const { return extensionSampleRate ? extensionSampleRate : sampleRate; }
};
Result<AudioSpecificConfig> parseAsc(ByteSpan asc);
// Builds an ASC (with zero GASpecificConfig flags); rates outside the table use the escape.
Result<BufferRef> buildAsc(uint8_t objectType, int sampleRate, uint8_t channelConfig);

// ADTS fixed + variable header, ISO/IEC 14496-3 1.A.2.2 (adts_frame).
struct AdtsHeader {
  uint8_t objectType = 0;  // profile_ObjectType + 1
  uint8_t frequencyIndex = 0;
  int sampleRate = 0;
  uint8_t channelConfig = 0;
  size_t headerSize = 7;   // 9 with CRC
  size_t frameLength = 0;  // header + payload
  uint8_t rawDataBlocks = 1;
};
inline constexpr size_t kAdtsHeaderSize = 7;
Result<AdtsHeader> parseAdts(ByteSpan data);
// Raw payload of the first ADTS frame in data (which must hold the whole frame).
Result<ByteSpan> stripAdts(ByteSpan data);
// Writes a 7-byte ADTS header (no CRC) for a payload of payloadSize bytes.
Status buildAdtsHeader(uint8_t objectType, uint8_t frequencyIndex, uint8_t channelConfig,
                       size_t payloadSize, uint8_t out[kAdtsHeaderSize]);
Status buildAdtsHeader(const AudioSpecificConfig& asc, size_t payloadSize,
                       uint8_t out[kAdtsHeaderSize]);
// ASC equivalent of an ADTS header (to publish a track from an ADTS source).
Result<BufferRef> ascFromAdts(const AdtsHeader& h);

}  // namespace aac

// ---------------------------------------------------------------------------------------------
// Track descriptions

// record: avcC for H.264, hvcC for H.265. Fails when no SPS can be parsed.
Result<VideoTrack> videoTrackFromConfig(Codec codec, BufferRef record);
// Builds the record from parameter sets (RTSP sprop-parameter-sets, in-band SPS/PPS) first.
Result<VideoTrack> videoTrackFromParameterSets(Codec codec, const ParameterSets& ps);
// asc: AudioSpecificConfig for AAC; OpusHead or empty for Opus (48 kHz); ignored for G.711
// (8 kHz mono).
Result<AudioTrack> audioTrackFromConfig(Codec codec, BufferRef asc);

}  // namespace xl
