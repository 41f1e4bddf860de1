// SRTP/SRTCP (RFC 3711, AEAD-GCM RFC 7714): one session per direction per peer, keyed from
// DTLS-SRTP. Outbound RTP, the per-viewer hot path, is protected by our own few lines on OpenSSL
// EVP (srtp_rtp_sender.h); SRTCP and inbound SRTP go through libsrtp2 (srtp_libsrtp.h).
// Protection happens in place in the caller's buffer, which must have kSrtpMaxTrailer spare
// bytes after the packet for the auth tag / SRTCP index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "webrtc/dtls.h"
#include "xueliang/status.h"

namespace xl::webrtc {

inline constexpr size_t kSrtpMaxTrailer = 16 + 4 + 4;  // GCM tag, SRTCP index, slack

class LibSrtpSession;
class SrtpRtpSender;

// What a WHEP viewer changes in a stream's shared RTP header: the payload type (the marker bit
// stays), the sequence number and the SSRC.
struct RtpRewrite {
  uint8_t payloadType = 0;
  uint16_t seq = 0;
  uint32_t ssrc = 0;
};

class SrtpSession {
 public:
  enum class Direction { kOutbound, kInbound };
  // `keyAndSalt` is the master key followed by the master salt, as SrtpKeys holds them.
  static Result<std::unique_ptr<SrtpSession>> create(SrtpProfile profile,
                                                     std::span<const uint8_t> keyAndSalt,
                                                     Direction direction);
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  // In place: `len` bytes of RTP (RTCP) become the protected packet; returns its new length.
  Result<size_t> protectRtp(uint8_t* packet, size_t len);
  // Out of place: the shared RTP packet at `src` (only read) becomes this peer's SRTP packet at
  // `dst`, its header rewritten; `dst` has kSrtpMaxTrailer bytes of room after `len`.
  Result<size_t> protectRtp(const uint8_t* src, size_t len, uint8_t* dst,
                            const RtpRewrite& rewrite);
  Result<size_t> protectRtcp(uint8_t* packet, size_t len);
  Result<size_t> unprotectRtp(uint8_t* packet, size_t len);
  Result<size_t> unprotectRtcp(uint8_t* packet, size_t len);

 private:
  SrtpSession() = default;
  std::unique_ptr<LibSrtpSession> lib_;
  std::unique_ptr<SrtpRtpSender> rtpOut_;  // outbound sessions only
};

}  // namespace xl::webrtc
