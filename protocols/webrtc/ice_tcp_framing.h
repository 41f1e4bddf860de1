// RFC 4571 framing of ICE-TCP (RFC 6544 §3): every STUN, DTLS and SRTP packet on the
// connection is preceded by its length in 2 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "xueliang/status.h"

namespace xl::webrtc {

// Calls `frame` for each complete frame at the start of `in` and returns how many bytes they
// took (a partial frame waits for more bytes); `frame` returning false stops after that frame.
// An empty frame or one longer than `maxFrame` is an error: the connection is to be closed.
template <typename Fn>
Result<size_t> readFrames(std::span<const uint8_t> in, size_t maxFrame, Fn&& frame) {
  size_t at = 0;
  while (in.size() - at >= 2) {
    const size_t len = size_t(in[at]) << 8 | in[at + 1];
    if (len == 0 || len > maxFrame)
      return Status::error("ice-tcp: frame of " + std::to_string(len) + " bytes (RFC 4571)");
    if (in.size() - at - 2 < len) break;
    if (!frame(in.subspan(at + 2, len))) return at + 2 + len;
    at += 2 + len;
  }
  return at;
}

}  // namespace xl::webrtc
