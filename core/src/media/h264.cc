// H.264 sequence parameter set (ITU-T H.264 7.3.2.1.1) and AVCDecoderConfigurationRecord
// (ISO/IEC 14496-15 5.3.3.1).
#include "xueliang/codec.h"

namespace xl::h264 {
namespace {

// Largest picture dimension we accept; far above any level limit, small enough for int math.
constexpr uint64_t kMaxDimension = 16384;

bool hasChromaInfo(uint8_t profileIdc) {
  switch (profileIdc) {
    case 100:
    case 110:
    case 122:
    case 244:
    case 44:
    case 83:
    case 86:
    case 118:
    case 128:
    case 138:
    case 139:
    case 134:
    case 135:
      return true;
    default:
      return false;
  }
}

// scaling_list(), 7.3.2.1.1.1: only consumed, the values are not needed.
bool skipScalingList(BitReader& br, int size) {
  int lastScale = 8, nextScale = 8;
  for (int j = 0; j < size && !br.failed(); ++j) {
    if (nextScale != 0) {
      int32_t delta = br.se();
      if (delta < -128 || delta > 127) return false;  // 7.4.2.1.1.1: delta_scale range
      nextScale = (lastScale + delta + 256) % 256;
    }
    lastScale = nextScale == 0 ? lastScale : nextScale;
  }
  return true;
}

void putList(BufferWriter& w, const std::vector<Bytes>& list) {
  for (const auto& nal : list) {
    w.be16(static_cast<uint16_t>(nal.size()));
    w.append(nal.data(), nal.size());
  }
}

// Reads `count` u16-length-prefixed NAL units into `out`.
Status readList(ByteSpan rec, size_t& pos, size_t count, std::vector<Bytes>& out) {
  for (size_t i = 0; i < count; ++i) {
    if (rec.size() - pos < 2) return Status::error("avcC: truncated parameter set length");
    size_t len = (size_t{rec[pos]} << 8) | rec[pos + 1];
    pos += 2;
    if (len == 0 || rec.size() - pos < len) return Status::error("avcC: bad parameter set length");
    out.emplace_back(rec.begin() + pos, rec.begin() + pos + len);
    pos += len;
  }
  return Status::ok();
}

}  // namespace

Result<Sps> parseSps(ByteSpan nal) {
  if (nal.size() < 4) return Status::error("h264 sps: too short");
  if (nalType(nal[0]) != kNalSps) return Status::error("h264 sps: wrong NAL type");
  Bytes rbsp = nalToRbsp(nal.subspan(1));
  BitReader br(rbsp);
  Sps s;
  s.profileIdc = br.bits(8);
  s.constraintFlags = br.bits(8);
  s.levelIdc = br.bits(8);
  s.spsId = br.ue();
  if (s.spsId > 31) return Status::error("h264 sps: seq_parameter_set_id out of range");
  bool separateColourPlane = false;
  if (hasChromaInfo(s.profileIdc)) {
    s.chromaFormatIdc = br.ue();
    if (s.chromaFormatIdc > 3) return Status::error("h264 sps: bad chroma_format_idc");
    if (s.chromaFormatIdc == 3) separateColourPlane = br.flag();
    uint32_t lumaMinus8 = br.ue(), chromaMinus8 = br.ue();
    if (lumaMinus8 > 6 || chromaMinus8 > 6) return Status::error("h264 sps: bad bit depth");
    s.bitDepthLuma = lumaMinus8 + 8;
    s.bitDepthChroma = chromaMinus8 + 8;
    br.flag();        // qpprime_y_zero_transform_bypass_flag
    if (br.flag()) {  // seq_scaling_matrix_present_flag
      int lists = s.chromaFormatIdc != 3 ? 8 : 12;
      for (int i = 0; i < lists && !br.failed(); ++i)
        if (br.flag() && !skipScalingList(br, i < 6 ? 16 : 64))
          return Status::error("h264 sps: bad scaling list");
    }
  }
  if (br.ue() > 12) return Status::error("h264 sps: bad log2_max_frame_num_minus4");
  uint32_t pocType = br.ue();
  if (pocType == 0) {
    if (br.ue() > 12) return Status::error("h264 sps: bad log2_max_pic_order_cnt_lsb_minus4");
  } else if (pocType == 1) {
    br.flag();  // delta_pic_order_always_zero_flag
    br.se();    // offset_for_non_ref_pic
    br.se();    // offset_for_top_to_bottom_field
    uint32_t cycle = br.ue();
    if (cycle > 255) return Status::error("h264 sps: bad num_ref_frames_in_pic_order_cnt_cycle");
    for (uint32_t i = 0; i < cycle && !br.failed(); ++i) br.se();
  } else if (pocType > 2) {
    return Status::error("h264 sps: bad pic_order_cnt_type");
  }
  br.ue();    // max_num_ref_frames
  br.flag();  // gaps_in_frame_num_value_allowed_flag
  uint64_t widthMbs = uint64_t{br.ue()} + 1;
  uint64_t heightMapUnits = uint64_t{br.ue()} + 1;
  s.frameMbsOnly = br.flag();
  if (!s.frameMbsOnly) br.flag();  // mb_adaptive_frame_field_flag
  br.flag();                       // direct_8x8_inference_flag
  uint64_t cropLeft = 0, cropRight = 0, cropTop = 0, cropBottom = 0;
  if (br.flag()) {  // frame_cropping_flag
    cropLeft = br.ue();
    cropRight = br.ue();
    cropTop = br.ue();
    cropBottom = br.ue();
  }
  if (br.failed()) return Status::error("h264 sps: truncated");

  uint64_t width = widthMbs * 16;
  uint64_t height = (s.frameMbsOnly ? 1 : 2) * heightMapUnits * 16;
  if (width > kMaxDimension || height > kMaxDimension)
    return Status::error("h264 sps: picture size out of range");
  // 7.4.2.1.1, frame_crop_*: CropUnitX/Y depend on ChromaArrayType and frame_mbs_only_flag.
  uint32_t chromaArrayType = separateColourPlane ? 0 : s.chromaFormatIdc;
  uint64_t unitX = 1, unitY = s.frameMbsOnly ? 1 : 2;
  if (chromaArrayType != 0) {
    unitX *= chromaArrayType == 3 ? 1 : 2;  // SubWidthC
    unitY *= chromaArrayType == 1 ? 2 : 1;  // SubHeightC
  }
  uint64_t cropX = unitX * (cropLeft + cropRight), cropY = unitY * (cropTop + cropBottom);
  if (cropX >= width || cropY >= height) return Status::error("h264 sps: cropping exceeds picture");
  s.width = static_cast<int>(width - cropX);
  s.height = static_cast<int>(height - cropY);
  return s;
}

std::string_view profileName(uint8_t profileIdc, uint8_t constraintFlags) {
  bool set1 = constraintFlags & 0x40, set3 = constraintFlags & 0x10;
  bool set4 = constraintFlags & 0x08, set5 = constraintFlags & 0x04;
  switch (profileIdc) {
    case 66:
      return set1 ? "Constrained Baseline" : "Baseline";
    case 77:
      return "Main";
    case 88:
      return "Extended";
    case 100:
      if (set4 && set5) return "Constrained High";
      return set4 ? "Progressive High" : "High";
    case 110:
      return set3 ? "High 10 Intra" : "High 10";
    case 122:
      return set3 ? "High 4:2:2 Intra" : "High 4:2:2";
    case 244:
      return set3 ? "High 4:4:4 Intra" : "High 4:4:4 Predictive";
    case 44:
      return "CAVLC 4:4:4 Intra";
    case 83:
      return "Scalable Baseline";
    case 86:
      return "Scalable High";
    case 118:
      return "Multiview High";
    case 128:
      return "Stereo High";
    default:
      return "Unknown";
  }
}

Result<AvcConfig> parseAvcC(ByteSpan rec) {
  if (rec.size() < 7) return Status::error("avcC: too short");
  if (rec[0] != 1) return Status::error("avcC: unsupported configurationVersion");
  AvcConfig c;
  c.profileIdc = rec[1];
  c.profileCompatibility = rec[2];
  c.levelIdc = rec[3];
  c.lengthSize = (rec[4] & 3) + 1;
  if (c.lengthSize == 3) return Status::error("avcC: invalid lengthSizeMinusOne");
  size_t pos = 6;
  if (Status s = readList(rec, pos, rec[5] & 0x1f, c.sps); !s) return s;
  if (pos >= rec.size()) return Status::error("avcC: missing numOfPictureParameterSets");
  size_t numPps = rec[pos++];
  if (Status s = readList(rec, pos, numPps, c.pps); !s) return s;
  // The high-profile extension is optional in practice: many muxers omit it.
  bool extProfile =
      c.profileIdc == 100 || c.profileIdc == 110 || c.profileIdc == 122 || c.profileIdc == 144;
  if (extProfile && rec.size() - pos >= 4) {
    c.hasExtension = true;
    c.chromaFormat = rec[pos] & 3;
    c.bitDepthLuma = (rec[pos + 1] & 7) + 8;
    c.bitDepthChroma = (rec[pos + 2] & 7) + 8;
    size_t numExt = rec[pos + 3];
    pos += 4;
    std::vector<Bytes> spsExt;
    if (Status s = readList(rec, pos, numExt, spsExt); !s) return s;
  }
  return c;
}

Result<BufferRef> buildAvcC(const ParameterSets& ps) {
  if (ps.sps.empty() || ps.pps.empty()) return Status::error("avcC: need an SPS and a PPS");
  if (ps.sps.size() > 31 || ps.pps.size() > 255) return Status::error("avcC: too many sets");
  for (const auto* list : {&ps.sps, &ps.pps})
    for (const auto& nal : *list)
      if (nal.empty() || nal.size() > 0xffff) return Status::error("avcC: bad parameter set size");
  Result<Sps> sps = parseSps(ps.sps.front());
  if (!sps) return sps.status();
  BufferWriter w(64);
  w.u8(1);  // configurationVersion
  w.u8(sps->profileIdc);
  w.u8(sps->constraintFlags);
  w.u8(sps->levelIdc);
  w.u8(0xfc | 3);  // reserved '111111', lengthSizeMinusOne = 3
  w.u8(0xe0 | static_cast<uint8_t>(ps.sps.size()));
  putList(w, ps.sps);
  w.u8(static_cast<uint8_t>(ps.pps.size()));
  putList(w, ps.pps);
  if (sps->profileIdc == 100 || sps->profileIdc == 110 || sps->profileIdc == 122 ||
      sps->profileIdc == 144) {
    w.u8(0xfc | static_cast<uint8_t>(sps->chromaFormatIdc));
    w.u8(0xf8 | static_cast<uint8_t>(sps->bitDepthLuma - 8));
    w.u8(0xf8 | static_cast<uint8_t>(sps->bitDepthChroma - 8));
    w.u8(0);  // numOfSequenceParameterSetExt
  }
  return w.freeze();
}

}  // namespace xl::h264
