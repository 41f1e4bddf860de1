// H.265 video/sequence parameter sets (ITU-T H.265 7.3.2.1, 7.3.2.2.1, 7.3.3) and the
// HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1).
#include "xueliang/codec.h"

namespace xl::h265 {
namespace {

constexpr uint64_t kMaxDimension = 16384;
constexpr size_t kHvcCHeaderSize = 23;

// profile_tier_level(1, maxNumSubLayersMinus1), 7.3.3. Sub-layer fields are skipped.
void readPtl(BitReader& br, uint8_t maxSubLayersMinus1, ProfileTierLevel& p) {
  p.profileSpace = br.bits(2);
  p.tier = br.flag();
  p.profileIdc = br.bits(5);
  p.compatibilityFlags = br.bits(32);
  // progressive, interlaced, non_packed, frame_only, 43 constraint bits, inbld/reserved bit.
  p.constraintFlags = (uint64_t{br.bits(16)} << 32) | br.bits(32);
  p.levelIdc = br.bits(8);
  bool profilePresent[8] = {}, levelPresent[8] = {};
  for (int i = 0; i < maxSubLayersMinus1; ++i) {
    profilePresent[i] = br.flag();
    levelPresent[i] = br.flag();
  }
  if (maxSubLayersMinus1 > 0)
    for (int i = maxSubLayersMinus1; i < 8; ++i) br.bits(2);  // reserved_zero_2bits
  for (int i = 0; i < maxSubLayersMinus1; ++i) {
    if (profilePresent[i]) br.skipBits(88);
    if (levelPresent[i]) br.skipBits(8);
  }
}

// Returns the RBSP after the 2-byte NAL header, or an error if the type is not `want`.
Result<Bytes> rbspOf(ByteSpan nal, uint8_t want, const char* what) {
  if (nal.size() < 3) return Status::error(std::string(what) + ": too short");
  if (nalType(nal[0]) != want) return Status::error(std::string(what) + ": wrong NAL type");
  return nalToRbsp(nal.subspan(2));
}

void putArray(BufferWriter& w, uint8_t type, const std::vector<Bytes>& list) {
  w.u8(0x80 | type);  // array_completeness = 1: all sets of this type are in the record
  w.be16(static_cast<uint16_t>(list.size()));
  for (const auto& nal : list) {
    w.be16(static_cast<uint16_t>(nal.size()));
    w.append(nal.data(), nal.size());
  }
}

}  // namespace

Result<Vps> parseVps(ByteSpan nal) {
  Result<Bytes> rbsp = rbspOf(nal, kNalVps, "h265 vps");
  if (!rbsp) return rbsp.status();
  BitReader br(*rbsp);
  Vps v;
  v.vpsId = br.bits(4);
  br.bits(2);  // vps_base_layer_internal_flag, vps_base_layer_available_flag
  br.bits(6);  // vps_max_layers_minus1
  uint8_t maxSubLayersMinus1 = br.bits(3);
  if (maxSubLayersMinus1 > 6) return Status::error("h265 vps: bad vps_max_sub_layers_minus1");
  v.maxSubLayers = maxSubLayersMinus1 + 1;
  br.flag();    // vps_temporal_id_nesting_flag
  br.bits(16);  // vps_reserved_0xffff_16bits
  readPtl(br, maxSubLayersMinus1, v.ptl);
  if (br.failed()) return Status::error("h265 vps: truncated");
  return v;
}

Result<Sps> parseSps(ByteSpan nal) {
  Result<Bytes> rbsp = rbspOf(nal, kNalSps, "h265 sps");
  if (!rbsp) return rbsp.status();
  BitReader br(*rbsp);
  Sps s;
  s.vpsId = br.bits(4);
  uint8_t maxSubLayersMinus1 = br.bits(3);
  if (maxSubLayersMinus1 > 6) return Status::error("h265 sps: bad sps_max_sub_layers_minus1");
  s.maxSubLayers = maxSubLayersMinus1 + 1;
  s.temporalIdNesting = br.flag();
  readPtl(br, maxSubLayersMinus1, s.ptl);
  s.spsId = br.ue();
  if (s.spsId > 15) return Status::error("h265 sps: sps_seq_parameter_set_id out of range");
  s.chromaFormatIdc = br.ue();
  if (s.chromaFormatIdc > 3) return Status::error("h265 sps: bad chroma_format_idc");
  bool separateColourPlane = s.chromaFormatIdc == 3 && br.flag();
  uint64_t width = br.ue(), height = br.ue();
  uint64_t left = 0, right = 0, top = 0, bottom = 0;
  if (br.flag()) {  // conformance_window_flag
    left = br.ue();
    right = br.ue();
    top = br.ue();
    bottom = br.ue();
  }
  uint32_t lumaMinus8 = br.ue(), chromaMinus8 = br.ue();
  if (br.failed()) return Status::error("h265 sps: truncated");
  if (lumaMinus8 > 8 || chromaMinus8 > 8) return Status::error("h265 sps: bad bit depth");
  s.bitDepthLuma = lumaMinus8 + 8;
  s.bitDepthChroma = chromaMinus8 + 8;
  if (width == 0 || height == 0 || width > kMaxDimension || height > kMaxDimension)
    return Status::error("h265 sps: picture size out of range");
  // 7.4.3.2.1 conf_win_*_offset in chroma units; Table 6-1 gives SubWidthC/SubHeightC.
  uint32_t chromaArrayType = separateColourPlane ? 0 : s.chromaFormatIdc;
  uint64_t subWidth = (chromaArrayType == 1 || chromaArrayType == 2) ? 2 : 1;
  uint64_t subHeight = chromaArrayType == 1 ? 2 : 1;
  uint64_t cropX = subWidth * (left + right), cropY = subHeight * (top + bottom);
  if (cropX >= width || cropY >= height)
    return Status::error("h265 sps: conformance window exceeds picture");
  s.width = static_cast<int>(width - cropX);
  s.height = static_cast<int>(height - cropY);
  return s;
}

std::string_view profileName(const ProfileTierLevel& ptl) {
  int idc = ptl.profileIdc;
  // A.3: a decoder may rely on the compatibility flags when profile_idc is 0 / unknown.
  for (int j = 1; idc == 0 && j < 32; ++j)
    if (ptl.compatibilityFlags & (0x80000000u >> j)) idc = j;
  switch (idc) {
    case 1:
      return "Main";
    case 2:
      return "Main 10";
    case 3:
      return "Main Still Picture";
    case 4:
      return "Rext";
    case 5:
      return "High Throughput";
    case 6:
      return "Multiview Main";
    case 7:
      return "Scalable Main";
    case 8:
      return "3D Main";
    case 9:
      return "Screen Extended";
    case 10:
      return "Scalable Rext";
    case 11:
      return "High Throughput Screen Extended";
    default:
      return "Unknown";
  }
}

Result<HevcConfig> parseHvcC(ByteSpan rec) {
  if (rec.size() < kHvcCHeaderSize) return Status::error("hvcC: too short");
  if (rec[0] != 1) return Status::error("hvcC: unsupported configurationVersion");
  HevcConfig c;
  BitReader br(rec.subspan(1, kHvcCHeaderSize - 1));
  c.ptl.profileSpace = br.bits(2);
  c.ptl.tier = br.flag();
  c.ptl.profileIdc = br.bits(5);
  c.ptl.compatibilityFlags = br.bits(32);
  c.ptl.constraintFlags = (uint64_t{br.bits(16)} << 32) | br.bits(32);
  c.ptl.levelIdc = br.bits(8);
  br.bits(4);
  c.minSpatialSegmentation = br.bits(12);
  br.bits(6);
  c.parallelismType = br.bits(2);
  br.bits(6);
  c.chromaFormat = br.bits(2);
  br.bits(5);
  c.bitDepthLuma = br.bits(3) + 8;
  br.bits(5);
  c.bitDepthChroma = br.bits(3) + 8;
  c.avgFrameRate = br.bits(16);
  c.constantFrameRate = br.bits(2);
  c.numTemporalLayers = br.bits(3);
  c.temporalIdNested = br.flag();
  c.lengthSize = br.bits(2) + 1;
  if (c.lengthSize == 3) return Status::error("hvcC: invalid lengthSizeMinusOne");
  size_t numArrays = rec[kHvcCHeaderSize - 1];
  size_t pos = kHvcCHeaderSize;
  for (size_t a = 0; a < numArrays; ++a) {
    if (rec.size() - pos < 3) return Status::error("hvcC: truncated array header");
    uint8_t type = rec[pos] & 0x3f;
    size_t numNalus = (size_t{rec[pos + 1]} << 8) | rec[pos + 2];
    pos += 3;
    std::vector<Bytes>* list = type == kNalVps                                    ? &c.ps.vps
                               : type == kNalSps                                  ? &c.ps.sps
                               : type == kNalPps                                  ? &c.ps.pps
                               : (type == kNalPrefixSei || type == kNalSuffixSei) ? &c.sei
                                                                                  : nullptr;
    for (size_t i = 0; i < numNalus; ++i) {
      if (rec.size() - pos < 2) return Status::error("hvcC: truncated NAL length");
      size_t len = (size_t{rec[pos]} << 8) | rec[pos + 1];
      pos += 2;
      if (rec.size() - pos < len) return Status::error("hvcC: NAL unit exceeds record");
      if (list && len > 0) list->emplace_back(rec.begin() + pos, rec.begin() + pos + len);
      pos += len;
    }
  }
  return c;
}

Result<BufferRef> buildHvcC(const ParameterSets& ps) {
  if (ps.vps.empty() || ps.sps.empty() || ps.pps.empty())
    return Status::error("hvcC: need a VPS, an SPS and a PPS");
  for (const auto* list : {&ps.vps, &ps.sps, &ps.pps}) {
    if (list->size() > 0xffff) return Status::error("hvcC: too many parameter sets");
    for (const auto& nal : *list)
      if (nal.empty() || nal.size() > 0xffff) return Status::error("hvcC: bad parameter set size");
  }
  Result<Sps> sps = parseSps(ps.sps.front());
  if (!sps) return sps.status();
  const ProfileTierLevel& p = sps->ptl;
  BufferWriter w(128);
  w.u8(1);  // configurationVersion
  w.u8(static_cast<uint8_t>(p.profileSpace << 6 | (p.tier ? 0x20 : 0) | p.profileIdc));
  w.be32(p.compatibilityFlags);
  w.be16(static_cast<uint16_t>(p.constraintFlags >> 32));
  w.be32(static_cast<uint32_t>(p.constraintFlags));
  w.u8(p.levelIdc);
  w.be16(0xf000);  // reserved '1111', min_spatial_segmentation_idc = 0 (unknown, VUI not read)
  w.u8(0xfc);      // reserved '111111', parallelismType = 0 (unknown)
  w.u8(0xfc | static_cast<uint8_t>(sps->chromaFormatIdc));
  w.u8(0xf8 | static_cast<uint8_t>(sps->bitDepthLuma - 8));
  w.u8(0xf8 | static_cast<uint8_t>(sps->bitDepthChroma - 8));
  w.be16(0);  // avgFrameRate: unspecified
  // constantFrameRate = 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne = 3.
  w.u8(static_cast<uint8_t>(sps->maxSubLayers << 3 | (sps->temporalIdNesting ? 4 : 0) | 3));
  w.u8(3);  // numOfArrays
  putArray(w, kNalVps, ps.vps);
  putArray(w, kNalSps, ps.sps);
  putArray(w, kNalPps, ps.pps);
  return w.freeze();
}

}  // namespace xl::h265
