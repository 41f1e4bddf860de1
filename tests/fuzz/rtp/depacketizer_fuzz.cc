// Input: packets as in tests/data/rtsp/*.rtp (2-byte big-endian length, then the packet). Every
// packet goes through every depacketizer, so a capture of one codec is garbage for the others.
#include <cstddef>
#include <cstdint>

#include "rtp/depacketizer.h"
#include "xueliang/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xl;
  using namespace xl::rtp;
  AacRtpParams odd{6, 2, 2, 960};  // AAC-lbr style header sizes too
  std::unique_ptr<Depacketizer> ds[] = {
      makeDepacketizer(Codec::kH264), makeDepacketizer(Codec::kH265), makeDepacketizer(Codec::kAAC),
      makeDepacketizer(Codec::kAAC, odd), makeDepacketizer(Codec::kG711U)};
  size_t frames = 0;
  auto sink = [&](DepacketizedFrame&& f) {
    ++frames;
    if (f.data.size() > (64u << 20)) __builtin_trap();
  };
  size_t i = 0;
  while (i + 2 <= size) {
    size_t n = size_t(data[i]) << 8 | data[i + 1];
    if (i + 2 + n > size) n = size - i - 2;
    auto p = parseRtp({data + i + 2, n});
    if (p) {
      for (auto& d : ds) d->push(*p, sink);
    }
    i += 2 + n;
  }
  for (auto& d : ds) {
    if (d->stats().packets > size) __builtin_trap();
  }
  return 0;
}
