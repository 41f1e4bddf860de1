// Walks the "webrtc" (and "rtsp") output format's bytes: RTSP-interleaved frames ("$", channel,
// 16-bit length; RFC 2326 §10.12), as the WHEP sessions read them.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>

#include "xueliang/buffer.h"
#include "xueliang/codec.h"

namespace xl::webrtc::test {

// Calls fn(channel, packet) for each frame of `b`; a test failure if the framing is broken.
template <typename Fn>
void forEachInterleaved(const BufferRef& b, Fn&& fn) {
  const uint8_t* p = b.data();
  size_t left = b.size();
  while (left >= 4) {
    ASSERT_EQ(p[0], '$');
    size_t len = size_t(p[2]) << 8 | p[3];
    ASSERT_LE(4 + len, left);
    fn(p[1], xl::ByteSpan(p + 4, len));
    p += 4 + len;
    left -= 4 + len;
  }
  ASSERT_EQ(left, 0u) << "trailing bytes after the last frame";
}

}  // namespace xl::webrtc::test
