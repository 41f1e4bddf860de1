// What every WHEP viewer of a run shares: one client DTLS identity (an ECDSA P-256 certificate
// made at start; its SSL_CTX offers the SRTP profiles picked with --srtp), the consent timer and
// the RTCP feedback to send (--whep-pli-after, --whep-remb).
#pragma once

#include <memory>
#include <string>

#include "webrtc/dtls.h"

namespace xlload {

struct WhepClientConfig {
  std::shared_ptr<const xl::webrtc::DtlsIdentity> identity;
  double consentIntervalMs = 2500;  // STUN consent checks (RFC 7675: the server times out at 30 s)
  // Feedback, timed from when SRTP is keyed: a PLI after `pliAfterMs` (< 0: none), repeated every
  // `pliIntervalMs` (0: once); a REMB of `rembBps` (0: none) with every receiver report for
  // `rembForMs` (0: the whole run), then one of kRembHighBps (the link recovered).
  double pliAfterMs = -1;
  double pliIntervalMs = 0;
  uint64_t rembBps = 0;
  double rembForMs = 0;
  static constexpr uint64_t kRembHighBps = 100'000'000;
  // UDP_GRO on the viewers' sockets (udp_gro.h): a GSO batch arrives as one buffer.
  bool gro = false;
  // The answer's candidate to use (numeric IPv4 or IPv6, --whep-candidate; a viewer fails if the
  // answer has none there); "": the one at the HTTP server's address, else the first IPv4 one,
  // else the first IPv6 one.
  std::string candidateHost;
};

// `srtp`: "both" (AEAD_AES_128_GCM preferred), "gcm" or "cm" (AES_CM_128_HMAC_SHA1_80 only).
// Returns "" or an error.
std::string makeWhepClientConfig(const std::string& srtp, WhepClientConfig& out);

}  // namespace xlload
