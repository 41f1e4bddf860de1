// Outbound SRTP for RTP packets in a few lines on OpenSSL EVP: AEAD_AES_128_GCM (RFC 7714) and
// AES_CM_128_HMAC_SHA1_80 (RFC 3711). This is the per-viewer hot path of WHEP; libsrtp2 as
// Debian builds it (on NSS) costs about 2x (GCM) and 5x (AES-CM) more per packet. The cipher and
// HMAC contexts are keyed once; a packet only sets an IV, so protection allocates nothing. A
// WHEP viewer's packet is encrypted out of place, from the stream's shared packet straight into
// the send queue (its rewritten header written there first), so the payload is read once and
// written once, never copied and then encrypted again.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "webrtc/dtls.h"
#include "webrtc/srtp.h"
#include "xueliang/status.h"

struct evp_cipher_ctx_st;

namespace xl::webrtc {

class SrtpRtpSender {
 public:
  // `keyAndSalt` is the master key followed by the master salt (SrtpKeys::local).
  static Result<std::unique_ptr<SrtpRtpSender>> create(SrtpProfile profile,
                                                       std::span<const uint8_t> keyAndSalt);
  ~SrtpRtpSender();
  SrtpRtpSender(const SrtpRtpSender&) = delete;
  SrtpRtpSender& operator=(const SrtpRtpSender&) = delete;

  // In place: `len` bytes of RTP become SRTP (the tag appended); returns the new length. The
  // buffer needs 16 spare bytes after the packet. The same packet sent again (a retransmission)
  // comes out the same, as libsrtp2's allow_repeat_tx does.
  Result<size_t> protect(uint8_t* packet, size_t len) { return protect(packet, len, packet); }
  // Out of place: the `len` bytes of RTP at `src` become SRTP at `dst` (len + 16 bytes of room;
  // `dst` is `src` or does not overlap it), its header changed by `rewrite` if given. `src` is
  // only read, so one shared packet serves every viewer.
  Result<size_t> protect(const uint8_t* src, size_t len, uint8_t* dst,
                         const RtpRewrite* rewrite = nullptr);

  // Distinct SSRCs whose rollover counter one session tracks; a WHEP viewer has two or three.
  static constexpr size_t kMaxSsrcs = 16;

 private:
  struct Ssrc {
    uint32_t ssrc;
    uint64_t index;  // highest packet index (ROC << 16 | SEQ) sent, RFC 3711 §3.3.1
  };
  SrtpRtpSender() = default;
  Result<uint64_t> packetIndex(uint32_t ssrc, uint16_t seq);

  struct Free {
    void operator()(evp_cipher_ctx_st* c) const;
  };
  struct HmacSha1;
  bool gcm_ = true;
  std::unique_ptr<evp_cipher_ctx_st, Free> cipher_;
  std::unique_ptr<HmacSha1> hmac_;  // for AES_CM_128_HMAC_SHA1_80
  uint8_t salt_[14] = {};           // session salt: 12 bytes for GCM, 14 for AES-CM
  // Inline, not on the heap: a worker touches every viewer's sender once per frame, and with
  // hundreds of viewers each separate allocation is one more cache miss per packet run.
  std::array<Ssrc, kMaxSsrcs> ssrcs_{};
  size_t nSsrcs_ = 0;
};

}  // namespace xl::webrtc
