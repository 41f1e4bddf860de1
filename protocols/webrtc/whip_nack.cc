#include "webrtc/whip_nack.h"

namespace xl::webrtc {
namespace {

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}

}  // namespace

void NackTracker::onPacket(uint16_t seq, std::vector<uint16_t>& missing) {
  if (!started_) {
    started_ = true;
    highest_ = seq;
    return;
  }
  const auto ahead = static_cast<uint16_t>(seq - highest_);
  if (ahead == 0 || ahead >= 0x8000) return;  // a duplicate, or late (a retransmission)
  if (ahead <= kMaxGap) {
    for (uint16_t s = static_cast<uint16_t>(highest_ + 1); s != seq; ++s) {
      missing.push_back(s);
      ++lost_;
    }
  }
  highest_ = seq;
}

size_t writeGenericNack(uint32_t senderSsrc, uint32_t mediaSsrc, std::span<const uint16_t> seqs,
                        uint8_t* out, size_t cap) {
  if (seqs.empty() || cap < 16) return 0;
  size_t at = 12;
  size_t i = 0;
  while (i < seqs.size()) {
    if (at + 4 > cap) return 0;
    const uint16_t pid = seqs[i++];
    uint16_t blp = 0;
    // §6.2.1: bit k of the BLP stands for PID + k + 1.
    while (i < seqs.size()) {
      const auto d = static_cast<uint16_t>(seqs[i] - pid);
      if (d == 0 || d > 16) break;
      blp = static_cast<uint16_t>(blp | (1u << (d - 1)));
      ++i;
    }
    put16(out + at, pid);
    put16(out + at + 2, blp);
    at += 4;
  }
  out[0] = 0x81;  // V=2, FMT=1
  out[1] = 205;   // RTPFB
  put16(out + 2, static_cast<uint16_t>(at / 4 - 1));
  put32(out + 4, senderSsrc);
  put32(out + 8, mediaSsrc);
  return at;
}

}  // namespace xl::webrtc
