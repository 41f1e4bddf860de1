// H.265 VPS/SPS parsers; a parsed SPS must also build an hvcC that parses back.
#include "xueliang/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  xl::ByteSpan in(data, size);
  xl::h265::parseVps(in);
  xl::Result<xl::h265::Sps> sps = xl::h265::parseSps(in);
  if (!sps) return 0;
  if (sps->width <= 0 || sps->height <= 0) __builtin_trap();
  xl::h265::profileName(sps->ptl);
  xl::ParameterSets ps;
  ps.vps.push_back({0x40, 0x01, 0x0c});
  ps.sps.emplace_back(in.begin(), in.end());
  ps.pps.push_back({0x44, 0x01, 0xc1});
  xl::Result<xl::BufferRef> rec = xl::h265::buildHvcC(ps);
  if (rec && !xl::videoTrackFromConfig(xl::Codec::kH265, *rec)) __builtin_trap();
  return 0;
}
