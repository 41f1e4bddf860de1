// Loss detection and Generic NACK (RFC 4585 §6.2.1) for a WHIP publisher's video: a sequence
// number that jumps forward shows the packets in between lost, and each is asked for once (the
// RTP ingest's reorder window holds the frame while the retransmission comes). Larger jumps are
// a restart of the sender's numbering, not losses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace xl::webrtc {

class NackTracker {
 public:
  static constexpr uint16_t kMaxGap = 64;  // at most this many packets asked for per jump

  // A received packet's sequence number. Appends the numbers it shows missing to `missing`.
  void onPacket(uint16_t seq, std::vector<uint16_t>& missing);
  uint64_t lost() const { return lost_; }

 private:
  bool started_ = false;
  uint16_t highest_ = 0;
  uint64_t lost_ = 0;
};

// Writes an RTPFB Generic NACK (PT 205, FMT 1) for `seqs` (ascending, modulo 2^16) into `out`:
// PID + BLP entries covering 17 numbers each. Returns its size, 0 if `cap` is too small or
// `seqs` is empty.
size_t writeGenericNack(uint32_t senderSsrc, uint32_t mediaSsrc, std::span<const uint16_t> seqs,
                        uint8_t* out, size_t cap);

}  // namespace xl::webrtc
