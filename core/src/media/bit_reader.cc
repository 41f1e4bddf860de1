// BitReader and RBSP extraction shared by the H.264 and H.265 parameter-set parsers.
#include "xueliang/codec.h"

namespace xl {

uint32_t BitReader::bits(int n) {
  if (n <= 0) return 0;
  if (n > 32 || bitsLeft() < static_cast<size_t>(n)) {
    failed_ = true;
    pos_ = data_.size() * 8;
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) {
    v = (v << 1) | ((data_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1);
    ++pos_;
  }
  return static_cast<uint32_t>(v);
}

// ue(v), H.264 9.1: leadingZeroBits zeros, a one, then leadingZeroBits info bits.
uint32_t BitReader::ue() {
  int zeros = 0;
  while (!failed_ && bits(1) == 0) {
    if (++zeros > 31) {
      failed_ = true;
      return 0;
    }
  }
  if (failed_) return 0;
  uint64_t v = (uint64_t{1} << zeros) - 1 + bits(zeros);
  if (v > 0xfffffffeu) {
    failed_ = true;
    return 0;
  }
  return static_cast<uint32_t>(v);
}

// se(v), H.264 9.1.1: k -> (-1)^(k+1) * Ceil(k / 2).
int32_t BitReader::se() {
  uint32_t k = ue();
  int64_t mag = (int64_t{k} + 1) / 2;
  return static_cast<int32_t>(k & 1 ? mag : -mag);
}

void BitReader::skipBits(size_t n) {
  if (bitsLeft() < n) {
    failed_ = true;
    pos_ = data_.size() * 8;
    return;
  }
  pos_ += n;
}

Bytes nalToRbsp(ByteSpan nal) {
  Bytes out;
  out.reserve(nal.size());
  int zeros = 0;
  for (uint8_t b : nal) {
    // 0x000003 followed by anything: the 03 is emulation prevention and is dropped.
    if (zeros >= 2 && b == 3) {
      zeros = 0;
      continue;
    }
    out.push_back(b);
    zeros = b == 0 ? zeros + 1 : 0;
  }
  return out;
}

}  // namespace xl
