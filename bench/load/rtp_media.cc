#include "rtp_media.h"

namespace xlload {

bool parseRtp(const uint8_t* p, size_t n, RtpView& out) {
  if (n < 12 || (p[0] >> 6) != 2) return false;
  size_t off = 12 + 4 * size_t(p[0] & 0x0f);
  if (off > n) return false;
  if (p[0] & 0x10) {  // header extension: 16-bit profile, 16-bit length in words
    if (off + 4 > n) return false;
    off += 4 + 4 * (size_t(p[off + 2]) << 8 | p[off + 3]);
    if (off > n) return false;
  }
  size_t end = n;
  if (p[0] & 0x20) {  // padding: the last byte counts the padding bytes, itself included
    size_t pad = p[n - 1];
    if (pad == 0 || pad > end - off) return false;
    end -= pad;
  }
  out.payloadType = p[1] & 0x7f;
  out.marker = (p[1] & 0x80) != 0;
  out.seq = static_cast<uint16_t>(p[2] << 8 | p[3]);
  out.timestamp = uint32_t(p[4]) << 24 | uint32_t(p[5]) << 16 | uint32_t(p[6]) << 8 | p[7];
  out.ssrc = uint32_t(p[8]) << 24 | uint32_t(p[9]) << 16 | uint32_t(p[10]) << 8 | p[11];
  out.payload = p + off;
  out.payloadLen = end - off;
  return true;
}

bool startsKeyframe(const uint8_t* nal, size_t n, bool h265) {
  if (!h265) {
    if (n < 1) return false;
    uint8_t type = nal[0] & 0x1f;
    if (type == 5) return true;
    if (type == 24) return n >= 4 && (nal[3] & 0x1f) == 5;  // STAP-A: first NAL after its size
    if (type == 28) return n >= 2 && (nal[1] & 0x80) && (nal[1] & 0x1f) == 5;  // FU-A start
    return false;
  }
  if (n < 2) return false;
  uint8_t type = (nal[0] >> 1) & 0x3f;
  if (type >= 16 && type <= 21) return true;
  if (type == 49)  // FU: the FU header's start bit and the fragmented NAL's type
    return n >= 3 && (nal[2] & 0x80) && (nal[2] & 0x3f) >= 16 && (nal[2] & 0x3f) <= 21;
  return false;
}

}  // namespace xlload
