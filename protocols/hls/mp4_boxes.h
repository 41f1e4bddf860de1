// Generic ISO BMFF (ISO/IEC 14496-12) box-writing helpers used by the fMP4 writer: box headers
// whose size is patched when the box closes, full-box headers and the fixed matrices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "xueliang/buffer.h"

namespace xl::hls::mp4 {

// Four-character code as the big-endian 32-bit value written on the wire.
constexpr uint32_t fourcc(const char (&s)[5]) {
  return uint32_t(uint8_t(s[0])) << 24 | uint32_t(uint8_t(s[1])) << 16 |
         uint32_t(uint8_t(s[2])) << 8 | uint32_t(uint8_t(s[3]));
}

inline void be64(BufferWriter& w, uint64_t v) {
  w.be32(static_cast<uint32_t>(v >> 32));
  w.be32(static_cast<uint32_t>(v));
}
inline void zeros(BufferWriter& w, size_t n) {
  for (size_t i = 0; i < n; ++i) w.u8(0);
}
// Overwrites 4 bytes at `offset` (already written) with a big-endian value.
void patchBe32(BufferWriter& w, size_t offset, uint32_t v);

// Writes a box header on construction and its 32-bit size on destruction (or close()), so
// nested scopes produce correctly nested sizes. Boxes are far below 4 GiB here.
class Box {
 public:
  Box(BufferWriter& w, uint32_t type) : w_(w), start_(w.size()) {
    w.be32(0);
    w.be32(type);
  }
  // Full box (14496-12 4.2): version and 24-bit flags follow the header.
  Box(BufferWriter& w, uint32_t type, uint8_t version, uint32_t flags) : Box(w, type) {
    w.u8(version);
    w.be24(flags);
  }
  Box(const Box&) = delete;
  Box& operator=(const Box&) = delete;
  ~Box() { close(); }
  void close() {
    if (open_) patchBe32(w_, start_, static_cast<uint32_t>(w_.size() - start_));
    open_ = false;
  }
  size_t start() const { return start_; }

 private:
  BufferWriter& w_;
  size_t start_;
  bool open_ = true;
};

// The unity transformation matrix of mvhd/tkhd (14496-12 8.2.2, 8.3.2).
void unityMatrix(BufferWriter& w);

// MPEG-4 descriptor header (ISO/IEC 14496-1 8.3.3): tag and a size in 7-bit groups.
void descriptorHeader(BufferWriter& w, uint8_t tag, size_t size);
size_t descriptorHeaderSize(size_t size);

}  // namespace xl::hls::mp4
