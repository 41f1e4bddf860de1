// AudioSpecificConfig and ADTS parsing; ADTS headers we build must parse back identically.
#include "xueliang/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  xl::ByteSpan in(data, size);
  xl::BufferRef ref = xl::BufferRef::copyOf(data, size);
  xl::audioTrackFromConfig(xl::Codec::kAAC, ref);
  xl::audioTrackFromConfig(xl::Codec::kOpus, ref);
  if (auto asc = xl::aac::parseAsc(in); asc && asc->extensionObjectType == 0) {
    auto rebuilt = xl::aac::buildAsc(asc->objectType, asc->sampleRate, asc->channelConfig);
    if (rebuilt) {
      auto again = xl::aac::parseAsc(rebuilt->span());
      if (!again || again->sampleRate != asc->sampleRate || again->objectType != asc->objectType)
        __builtin_trap();
    }
  }
  if (auto h = xl::aac::parseAdts(in); h) {
    xl::aac::stripAdts(in);
    xl::aac::ascFromAdts(*h);
    uint8_t hdr[xl::aac::kAdtsHeaderSize];
    if (h->frameLength >= 7 &&
        xl::aac::buildAdtsHeader(h->objectType, h->frequencyIndex, h->channelConfig,
                                 h->frameLength - 7, hdr)) {
      auto back = xl::aac::parseAdts(xl::ByteSpan(hdr, sizeof hdr));
      if (!back || back->frameLength != h->frameLength) __builtin_trap();
    }
  }
  return 0;
}
