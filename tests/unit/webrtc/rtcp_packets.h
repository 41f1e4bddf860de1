// Builds RTCP packets byte by byte for the feedback tests.
#pragma once

#include <cstdint>
#include <vector>

namespace xl::webrtc::test {

inline void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}

inline void put32(std::vector<uint8_t>& v, uint32_t x) {
  put16(v, static_cast<uint16_t>(x >> 16));
  put16(v, static_cast<uint16_t>(x));
}

// A feedback packet (RFC 4585 §6.1): sender SSRC 0x01020304, media SSRC `media`, then `fci`
// padded to 4 bytes.
inline std::vector<uint8_t> fb(uint8_t fmt, uint8_t type, uint32_t media,
                               std::vector<uint8_t> fci) {
  while (fci.size() % 4) fci.push_back(0);
  std::vector<uint8_t> p = {static_cast<uint8_t>(0x80 | fmt), type, 0,
                            static_cast<uint8_t>(2 + fci.size() / 4)};
  put32(p, 0x01020304);
  put32(p, media);
  p.insert(p.end(), fci.begin(), fci.end());
  return p;
}

}  // namespace xl::webrtc::test
