// Differential fuzzing of outbound SRTP: arbitrary RTP packets protected by our OpenSSL sender
// (SrtpRtpSender, the WHEP hot path) and by libsrtp2 with the same key. Whenever libsrtp2 takes a
// version-2 packet, ours must take it too and produce the same bytes; malformed headers must be
// refused without reading past the packet. A second sender of ours protects each packet out of
// place (as WHEP viewers send: from a buffer of exactly the packet's size into another) and must
// agree with the first byte for byte. Input: one byte whose low bit picks the profile, then
// packets as a 16-bit big-endian length and that many bytes (cut short at the end of the input).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "webrtc/srtp.h"
#include "webrtc/srtp_libsrtp.h"
#include "webrtc/srtp_rtp_sender.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xl::webrtc;
  if (size < 1) return 0;
  const SrtpProfile profile =
      data[0] & 1 ? SrtpProfile::kAeadAes128Gcm : SrtpProfile::kAes128CmSha1_80;
  const std::vector<uint8_t> key(srtpKeyAndSaltSize(profile), 0x5c);
  auto ours = SrtpRtpSender::create(profile, key);
  auto outOfPlace = SrtpRtpSender::create(profile, key);
  auto ref = LibSrtpSession::create(profile, key, true);
  if (!ours || !outOfPlace || !ref) abort();
  std::vector<uint8_t> a, b, src, dst;
  size_t at = 1, packets = 0;
  while (at + 2 <= size && packets < SrtpRtpSender::kMaxSsrcs) {
    size_t len = size_t(data[at]) << 8 | data[at + 1];
    at += 2;
    if (len > size - at) len = size - at;
    // Exactly the trailer room SrtpSession's callers give, so a sanitizer sees any overrun.
    a.assign(data + at, data + at + len);
    a.resize(len + kSrtpMaxTrailer);
    b = a;
    src.assign(data + at, data + at + len);
    dst.assign(len + kSrtpMaxTrailer, 0);
    at += len;
    ++packets;
    auto o = (*outOfPlace)->protect(src.data(), len, dst.data());
    auto n = (*ours)->protect(a.data(), len);
    if (bool(o) != bool(n) || (n && (*o != *n || std::memcmp(a.data(), dst.data(), *n) != 0)))
      abort();
    auto m = (*ref)->protectRtp(b.data(), len);
    if (n && *n > len + kSrtpMaxTrailer) abort();
    const bool version2 = len > 0 && (a[0] >> 6) == 2;
    if (m && version2) {
      if (!n || *n != *m || std::memcmp(a.data(), b.data(), *n) != 0) abort();
    }
  }
  return 0;
}
