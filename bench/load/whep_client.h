// What every WHEP viewer of a run shares: one client DTLS identity (an ECDSA P-256 certificate
// made at start; its SSL_CTX offers the SRTP profiles picked with --srtp) and the consent timer.
#pragma once

#include <memory>
#include <string>

#include "webrtc/dtls.h"

namespace xlload {

struct WhepClientConfig {
  std::shared_ptr<const xl::webrtc::DtlsIdentity> identity;
  double consentIntervalMs = 2500;  // STUN consent checks (RFC 7675: the server times out at 30 s)
};

// `srtp`: "both" (AEAD_AES_128_GCM preferred), "gcm" or "cm" (AES_CM_128_HMAC_SHA1_80 only).
// Returns "" or an error.
std::string makeWhepClientConfig(const std::string& srtp, WhepClientConfig& out);

}  // namespace xlload
