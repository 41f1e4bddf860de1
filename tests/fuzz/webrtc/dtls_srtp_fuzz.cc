// Arbitrary datagrams into the two other entry points of the media port: a fresh DTLS server
// (as a new session receives its first DTLS datagram), SRTP/SRTCP unprotection, and the RTCP
// feedback reader that runs on what SRTCP unprotection yields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "webrtc/dtls.h"
#include "webrtc/rtcp_feedback.h"
#include "webrtc/srtp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xl::webrtc;
  static const auto identity = DtlsIdentity::generate(true);
  if (!identity) return 0;
  {
    DtlsTransport t(*identity, [](std::span<const uint8_t>) {});
    // The input as one datagram, then split in two, as a peer might send it.
    (void)t.feed(std::span<const uint8_t>(data, size));
    if (size > 1 && !t.closed()) (void)t.feed(std::span<const uint8_t>(data + size / 2, size / 2));
  }
  static const std::vector<uint8_t> key(28, 0x42);
  auto in = SrtpSession::create(SrtpProfile::kAeadAes128Gcm, key, SrtpSession::Direction::kInbound);
  if (!in) return 0;
  std::vector<uint8_t> buf(data, data + size);
  (void)(*in)->unprotectRtp(buf.data(), buf.size());
  buf.assign(data, data + size);
  (void)(*in)->unprotectRtcp(buf.data(), buf.size());
  Feedback fb;
  (void)readFeedback(std::span<const uint8_t>(data, size), fb);
  if (fb.nacked.size() > 256 || fb.nacked.size() != fb.nackSsrcs.size()) abort();
  return 0;
}
