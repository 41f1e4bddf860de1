// H.264 SPS parser; a parsed SPS must also build an avcC that parses back.
#include "xueliang/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  xl::ByteSpan in(data, size);
  xl::Result<xl::h264::Sps> sps = xl::h264::parseSps(in);
  if (!sps) return 0;
  if (sps->width <= 0 || sps->height <= 0) __builtin_trap();
  xl::h264::profileName(sps->profileIdc, sps->constraintFlags);
  xl::ParameterSets ps;
  ps.sps.emplace_back(in.begin(), in.end());
  ps.pps.push_back({0x68, 0xce, 0x38, 0x80});
  xl::Result<xl::BufferRef> rec = xl::h264::buildAvcC(ps);
  if (rec && !xl::videoTrackFromConfig(xl::Codec::kH264, *rec)) __builtin_trap();
  return 0;
}
