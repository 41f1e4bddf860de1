// One libsrtp2 session (RFC 3711, AEAD-GCM RFC 7714): SRTCP both ways and inbound SRTP for
// SrtpSession, and the reference the OpenSSL RTP sender (srtp_rtp_sender.h) is tested and
// measured against. Protection happens in place; the buffer needs kSrtpMaxTrailer spare bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "webrtc/dtls.h"
#include "xueliang/status.h"

struct srtp_ctx_t_;  // libsrtp2's session, kept out of this header

namespace xl::webrtc {

class LibSrtpSession {
 public:
  // `keyAndSalt` is the master key followed by the master salt; `outbound` picks libsrtp2's
  // ssrc_any_outbound (else ssrc_any_inbound) template.
  static Result<std::unique_ptr<LibSrtpSession>> create(SrtpProfile profile,
                                                        std::span<const uint8_t> keyAndSalt,
                                                        bool outbound);
  ~LibSrtpSession();
  LibSrtpSession(const LibSrtpSession&) = delete;
  LibSrtpSession& operator=(const LibSrtpSession&) = delete;

  Result<size_t> protectRtp(uint8_t* packet, size_t len);
  Result<size_t> protectRtcp(uint8_t* packet, size_t len);
  Result<size_t> unprotectRtp(uint8_t* packet, size_t len);
  Result<size_t> unprotectRtcp(uint8_t* packet, size_t len);

 private:
  explicit LibSrtpSession(::srtp_ctx_t_* s) : session_(s) {}
  ::srtp_ctx_t_* session_;
};

// Master key plus master salt: 30 bytes for AES_CM_128_HMAC_SHA1_80, 28 for AEAD_AES_128_GCM.
size_t srtpKeyAndSaltSize(SrtpProfile profile);

}  // namespace xl::webrtc
