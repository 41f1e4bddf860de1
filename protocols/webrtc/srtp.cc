#include "webrtc/srtp.h"

#include "webrtc/srtp_libsrtp.h"
#include "webrtc/srtp_rtp_sender.h"

namespace xl::webrtc {

Result<std::unique_ptr<SrtpSession>> SrtpSession::create(SrtpProfile profile,
                                                         std::span<const uint8_t> keyAndSalt,
                                                         Direction direction) {
  const bool outbound = direction == Direction::kOutbound;
  auto lib = LibSrtpSession::create(profile, keyAndSalt, outbound);
  if (!lib) return lib.status();
  std::unique_ptr<SrtpSession> s(new SrtpSession());
  s->lib_ = std::move(*lib);
  if (outbound) {
    auto rtp = SrtpRtpSender::create(profile, keyAndSalt);
    if (!rtp) return rtp.status();
    s->rtpOut_ = std::move(*rtp);
  }
  return s;
}

SrtpSession::~SrtpSession() = default;

Result<size_t> SrtpSession::protectRtp(uint8_t* p, size_t len) {
  if (!rtpOut_) return Status::error("srtp: protectRtp on an inbound session");
  return rtpOut_->protect(p, len);
}

Result<size_t> SrtpSession::protectRtp(const uint8_t* src, size_t len, uint8_t* dst,
                                       const RtpRewrite& rewrite) {
  if (!rtpOut_) return Status::error("srtp: protectRtp on an inbound session");
  return rtpOut_->protect(src, len, dst, &rewrite);
}

Result<size_t> SrtpSession::protectRtcp(uint8_t* p, size_t len) {
  return lib_->protectRtcp(p, len);
}

Result<size_t> SrtpSession::unprotectRtp(uint8_t* p, size_t len) {
  return lib_->unprotectRtp(p, len);
}

Result<size_t> SrtpSession::unprotectRtcp(uint8_t* p, size_t len) {
  return lib_->unprotectRtcp(p, len);
}

}  // namespace xl::webrtc
