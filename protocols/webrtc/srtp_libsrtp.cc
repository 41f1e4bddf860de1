#include "webrtc/srtp_libsrtp.h"

#include <srtp2/srtp.h>
#if XL_SRTP_INIT_NSS
#include <nss.h>
#endif

#include <string>

namespace xl::webrtc {
namespace {

// libsrtp2 needs one process-wide initialisation before the first session. With its NSS crypto
// backend (Debian), NSS initialised once turns each session's per-cipher NSS_InitContext into a
// reference count instead of loading the softoken again (~30 us instead of ~2-7 ms a session).
Status initOnce() {
  static const srtp_err_status_t rc = [] {
#if XL_SRTP_INIT_NSS
    if (!NSS_IsInitialized()) NSS_NoDB_Init(nullptr);
#endif
    return srtp_init();
  }();
  if (rc != srtp_err_status_ok)
    return Status::error("srtp: srtp_init failed (" + std::to_string(rc) + ")");
  return Status::ok();
}

Status failed(const char* what, srtp_err_status_t rc) {
  return Status::error(std::string("srtp: ") + what + " failed (libsrtp2 error " +
                       std::to_string(rc) + ")");
}

}  // namespace

size_t srtpKeyAndSaltSize(SrtpProfile profile) {
  switch (profile) {
    case SrtpProfile::kAes128CmSha1_80:
      return SRTP_AES_ICM_128_KEY_LEN_WSALT;
    case SrtpProfile::kAeadAes128Gcm:
      return SRTP_AES_GCM_128_KEY_LEN_WSALT;
    case SrtpProfile::kNone:
      break;
  }
  return 0;
}

Result<std::unique_ptr<LibSrtpSession>> LibSrtpSession::create(SrtpProfile profile,
                                                               std::span<const uint8_t> keyAndSalt,
                                                               bool outbound) {
  if (Status s = initOnce(); !s) return s;
  srtp_policy_t policy{};
  switch (profile) {
    case SrtpProfile::kAes128CmSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case SrtpProfile::kAeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
    case SrtpProfile::kNone:
      return Status::error("srtp: no protection profile");
  }
  const size_t want = srtpKeyAndSaltSize(profile);
  if (keyAndSalt.size() != want)
    return Status::error("srtp: key and salt are " + std::to_string(keyAndSalt.size()) +
                         " bytes, the profile needs " + std::to_string(want));
  policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
  policy.key = const_cast<uint8_t*>(keyAndSalt.data());
  policy.window_size = 1024;
  policy.allow_repeat_tx = 1;  // NACK retransmissions resend a packet with the same index
  srtp_t ctx = nullptr;
  if (srtp_err_status_t rc = srtp_create(&ctx, &policy); rc != srtp_err_status_ok)
    return failed("srtp_create", rc);
  return std::unique_ptr<LibSrtpSession>(new LibSrtpSession(ctx));
}

LibSrtpSession::~LibSrtpSession() {
  srtp_dealloc(session_);
}

Result<size_t> LibSrtpSession::protectRtp(uint8_t* p, size_t len) {
  int n = static_cast<int>(len);
  if (auto rc = srtp_protect(session_, p, &n); rc != srtp_err_status_ok)
    return failed("srtp_protect", rc);
  return static_cast<size_t>(n);
}

Result<size_t> LibSrtpSession::protectRtcp(uint8_t* p, size_t len) {
  int n = static_cast<int>(len);
  if (auto rc = srtp_protect_rtcp(session_, p, &n); rc != srtp_err_status_ok)
    return failed("srtp_protect_rtcp", rc);
  return static_cast<size_t>(n);
}

Result<size_t> LibSrtpSession::unprotectRtp(uint8_t* p, size_t len) {
  int n = static_cast<int>(len);
  if (auto rc = srtp_unprotect(session_, p, &n); rc != srtp_err_status_ok)
    return failed("srtp_unprotect", rc);
  return static_cast<size_t>(n);
}

Result<size_t> LibSrtpSession::unprotectRtcp(uint8_t* p, size_t len) {
  int n = static_cast<int>(len);
  if (auto rc = srtp_unprotect_rtcp(session_, p, &n); rc != srtp_err_status_ok)
    return failed("srtp_unprotect_rtcp", rc);
  return static_cast<size_t>(n);
}

}  // namespace xl::webrtc
