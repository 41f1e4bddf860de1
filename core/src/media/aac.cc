// AAC AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) and ADTS headers (ISO/IEC 14496-3 1.A.2.2).
#include "xueliang/codec.h"

namespace xl::aac {
namespace {

// Table 1.18, samplingFrequencyIndex 0..12.
constexpr int kRates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                            22050, 16000, 12000, 11025, 8000,  7350};

// GetAudioObjectType(), 1.6.2.1.1: 31 escapes to 32 + 6 more bits.
uint8_t readObjectType(BitReader& br) {
  uint8_t t = br.bits(5);
  return t == 31 ? static_cast<uint8_t>(32 + br.bits(6)) : t;
}

// samplingFrequencyIndex, with 0xf meaning an explicit 24-bit frequency.
int readFrequency(BitReader& br, uint8_t& index) {
  index = br.bits(4);
  return index == 15 ? static_cast<int>(br.bits(24)) : sampleRateForIndex(index);
}

// Table 1.19 channelConfiguration -> channel count; -1 for reserved values.
int channelsFor(uint8_t config) {
  static constexpr int kChannels[16] = {0, 1, 2, 3, 4, 5, 6, 8, -1, -1, -1, 7, 8, 24, 8, -1};
  return kChannels[config & 15];
}

class BitWriter {
 public:
  void put(uint32_t v, int n) {
    for (int i = n - 1; i >= 0; --i) {
      if (bit_ == 0) bytes_.push_back(0);
      if ((v >> i) & 1) bytes_.back() |= static_cast<uint8_t>(0x80 >> bit_);
      bit_ = (bit_ + 1) & 7;
    }
  }
  const Bytes& bytes() const { return bytes_; }

 private:
  Bytes bytes_;
  int bit_ = 0;
};

}  // namespace

int sampleRateForIndex(uint8_t index) {
  return index < 13 ? kRates[index] : 0;
}

int indexForSampleRate(int rate) {
  for (int i = 0; i < 13; ++i)
    if (kRates[i] == rate) return i;
  return -1;
}

Result<AudioSpecificConfig> parseAsc(ByteSpan asc) {
  BitReader br(asc);
  AudioSpecificConfig c;
  c.objectType = readObjectType(br);
  c.sampleRate = readFrequency(br, c.frequencyIndex);
  c.channelConfig = br.bits(4);
  if (br.failed()) return Status::error("asc: truncated");
  if (c.objectType == 0) return Status::error("asc: null audio object type");
  if (c.sampleRate <= 0) return Status::error("asc: bad sampling frequency");
  int channels = channelsFor(c.channelConfig);
  if (channels < 0) return Status::error("asc: reserved channel configuration");
  c.channels = channels;
  // Explicit hierarchical SBR/PS signalling: the core object type follows the extension rate.
  if (c.objectType == 5 || c.objectType == 29) {
    c.extensionObjectType = c.objectType;
    uint8_t extIndex = 0;
    c.extensionSampleRate = readFrequency(br, extIndex);
    c.objectType = readObjectType(br);
    if (c.objectType == 22) br.bits(4);  // extensionChannelConfiguration (ER BSAC)
    if (br.failed()) return Status::error("asc: truncated SBR/PS extension");
    if (c.extensionSampleRate <= 0) return Status::error("asc: bad extension sampling frequency");
    if (c.extensionObjectType == 29 && c.channelConfig == 1) c.channels = 2;  // PS: mono -> stereo
  }
  return c;
}

Result<BufferRef> buildAsc(uint8_t objectType, int sampleRate, uint8_t channelConfig) {
  if (objectType == 0 || objectType > 95) return Status::error("asc: bad audio object type");
  if (sampleRate <= 0 || sampleRate > 0xffffff) return Status::error("asc: bad sample rate");
  if (channelConfig > 15 || channelsFor(channelConfig) < 0)
    return Status::error("asc: bad channel configuration");
  BitWriter bw;
  if (objectType >= 31) {
    bw.put(31, 5);
    bw.put(objectType - 32, 6);
  } else {
    bw.put(objectType, 5);
  }
  int index = indexForSampleRate(sampleRate);
  if (index >= 0) {
    bw.put(index, 4);
  } else {
    bw.put(15, 4);
    bw.put(sampleRate, 24);
  }
  bw.put(channelConfig, 4);
  // GASpecificConfig: frameLengthFlag, dependsOnCoreCoder, extensionFlag all 0 (1024 samples).
  bw.put(0, 3);
  return BufferRef::copyOf(bw.bytes().data(), bw.bytes().size());
}

Result<AdtsHeader> parseAdts(ByteSpan d) {
  if (d.size() < kAdtsHeaderSize) return Status::error("adts: too short");
  if (d[0] != 0xff || (d[1] & 0xf0) != 0xf0) return Status::error("adts: no syncword");
  if ((d[1] & 0x06) != 0) return Status::error("adts: layer must be 0");
  AdtsHeader h;
  bool protectionAbsent = d[1] & 1;
  h.headerSize = protectionAbsent ? 7 : 9;
  h.objectType = static_cast<uint8_t>((d[2] >> 6) + 1);
  h.frequencyIndex = (d[2] >> 2) & 0xf;
  h.sampleRate = sampleRateForIndex(h.frequencyIndex);
  if (h.sampleRate == 0) return Status::error("adts: reserved sampling frequency index");
  h.channelConfig = static_cast<uint8_t>(((d[2] & 1) << 2) | (d[3] >> 6));
  h.frameLength = (size_t{d[3] & 3u} << 11) | (size_t{d[4]} << 3) | (d[5] >> 5);
  h.rawDataBlocks = static_cast<uint8_t>((d[6] & 3) + 1);
  if (h.frameLength < h.headerSize) return Status::error("adts: frame shorter than header");
  return h;
}

Result<ByteSpan> stripAdts(ByteSpan d) {
  Result<AdtsHeader> h = parseAdts(d);
  if (!h) return h.status();
  if (h->frameLength > d.size()) return Status::error("adts: truncated frame");
  // Several raw blocks need per-block splitting (and CRCs); no encoder we ingest produces them.
  if (h->rawDataBlocks != 1) return Status::error("adts: multiple raw data blocks unsupported");
  return d.subspan(h->headerSize, h->frameLength - h->headerSize);
}

Status buildAdtsHeader(uint8_t objectType, uint8_t frequencyIndex, uint8_t channelConfig,
                       size_t payloadSize, uint8_t out[kAdtsHeaderSize]) {
  if (objectType < 1 || objectType > 4) return Status::error("adts: object type not in 1..4");
  if (frequencyIndex > 12) return Status::error("adts: frequency index needs the table");
  if (channelConfig > 7) return Status::error("adts: channel configuration above 7");
  size_t len = payloadSize + kAdtsHeaderSize;
  if (len > 0x1fff) return Status::error("adts: frame too long");
  constexpr uint32_t kFullness = 0x7ff;  // VBR
  out[0] = 0xff;
  out[1] = 0xf1;  // syncword, ID = 0 (MPEG-4), layer 0, protection_absent
  out[2] = static_cast<uint8_t>((objectType - 1) << 6 | frequencyIndex << 2 | channelConfig >> 2);
  out[3] = static_cast<uint8_t>((channelConfig & 3) << 6 | len >> 11);
  out[4] = static_cast<uint8_t>(len >> 3);
  out[5] = static_cast<uint8_t>((len & 7) << 5 | kFullness >> 6);
  out[6] = static_cast<uint8_t>((kFullness & 0x3f) << 2);  // one raw data block
  return Status::ok();
}

Status buildAdtsHeader(const AudioSpecificConfig& asc, size_t payloadSize,
                       uint8_t out[kAdtsHeaderSize]) {
  int index = indexForSampleRate(asc.sampleRate);
  if (index < 0) return Status::error("adts: sample rate not in the index table");
  return buildAdtsHeader(asc.objectType, static_cast<uint8_t>(index), asc.channelConfig,
                         payloadSize, out);
}

Result<BufferRef> ascFromAdts(const AdtsHeader& h) {
  return buildAsc(h.objectType, h.sampleRate, h.channelConfig);
}

}  // namespace xl::aac
