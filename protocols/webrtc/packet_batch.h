// PacketBatch: one destination's protected RTP/RTCP packets on their way to one sendEach, laid
// out back to back in a caller's area (the media port's viewers share a SendQueue instead, which
// lays out many viewers' packets the same way). Contiguity is what makes UDP GSO possible: the
// full-size fragments of a video frame (the packetizer cuts every FU but the last at the same
// size, and SRTP adds the same trailer to each) form one buffer that UdpSocket hands the kernel
// as a single message with a segment size. Each packet is written at the end of the previous one
// and protected in place, so kSrtpMaxTrailer bytes of room are kept after it.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "webrtc/srtp.h"

namespace xl::webrtc {

class PacketBatch {
 public:
  // Starts an empty batch in `area` (`capacity` bytes, shared: valid until the next reset).
  void reset(uint8_t* area, size_t capacity) {
    area_ = area;
    capacity_ = capacity;
    clear();
  }
  // Where a packet of `len` bytes goes (with room for its trailer), or nullptr when the area is
  // full and the batch must be sent first.
  uint8_t* next(size_t len) const {
    return used_ + len + kSrtpMaxTrailer <= capacity_ ? area_ + used_ : nullptr;
  }
  // The packet written at next() is `len` bytes long now (protected).
  void add(size_t len) {
    iov_.push_back(iovec{area_ + used_, len});
    used_ += len;
  }
  std::span<const iovec> datagrams() const { return iov_; }
  bool empty() const { return iov_.empty(); }
  void clear() {
    iov_.clear();
    used_ = 0;
  }

 private:
  uint8_t* area_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  std::vector<iovec> iov_;
};

}  // namespace xl::webrtc
