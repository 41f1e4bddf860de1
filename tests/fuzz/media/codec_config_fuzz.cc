// avcC / hvcC records and NAL framing: the first byte picks the codec.
#include "xueliang/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  xl::Codec codec = data[0] & 1 ? xl::Codec::kH265 : xl::Codec::kH264;
  xl::ByteSpan in(data + 1, size - 1);
  xl::BufferRef ref = xl::BufferRef::copyOf(in.data(), in.size());
  xl::videoTrackFromConfig(codec, ref);
  if (codec == xl::Codec::kH264) {
    xl::h264::parseAvcC(in);
  } else if (auto c = xl::h265::parseHvcC(in); c) {
    xl::h265::buildHvcC(c->ps);
  }
  // The same bytes as an access unit in both framings.
  xl::isKeyframe(codec, in);
  xl::extractParameterSets(codec, in, xl::NalFormat::kAnnexB);
  xl::extractParameterSets(codec, in, xl::NalFormat::kLengthPrefixed);
  if (auto lp = xl::annexBToLengthPrefixed(in); lp) {
    if (!xl::lengthPrefixedToAnnexB(lp->span())) __builtin_trap();  // our output must re-parse
  }
  xl::lengthPrefixedToAnnexB(in, 2);
  return 0;
}
