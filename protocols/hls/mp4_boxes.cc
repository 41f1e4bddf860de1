#include "hls/mp4_boxes.h"

namespace xl::hls::mp4 {

void patchBe32(BufferWriter& w, size_t offset, uint32_t v) {
  uint8_t* p = w.data() + offset;
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

void unityMatrix(BufferWriter& w) {
  static constexpr uint32_t kMatrix[9] = {0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000};
  for (uint32_t v : kMatrix) w.be32(v);
}

size_t descriptorHeaderSize(size_t size) {
  size_t n = 1;
  while (size >= 0x80) {
    size >>= 7;
    ++n;
  }
  return 1 + n;
}

void descriptorHeader(BufferWriter& w, uint8_t tag, size_t size) {
  w.u8(tag);
  size_t groups = descriptorHeaderSize(size) - 1;
  for (size_t i = groups; i-- > 0;) {
    uint8_t b = static_cast<uint8_t>((size >> (7 * i)) & 0x7f);
    w.u8(i ? uint8_t(b | 0x80) : b);
  }
}

}  // namespace xl::hls::mp4
