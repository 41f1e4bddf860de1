// Bytes from an ICE-TCP connection into the RFC 4571 deframer: frames must tile the bytes taken,
// each within the bound, and never be read past the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "webrtc/ice_tcp_framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t seen = 0;
  auto used = xl::webrtc::readFrames({data, size}, 1500, [&](std::span<const uint8_t> f) {
    if (f.empty() || f.size() > 1500 || f.data() != data + seen + 2) std::abort();
    seen += 2 + f.size();
    return true;
  });
  if (used && (*used != seen || *used > size)) std::abort();
  return 0;
}
