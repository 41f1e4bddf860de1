// The SDP answer to a WHEP offer (RFC 9429 JSEP, RFC 8829 §5.3; WHEP draft §4.2): the offer is
// parsed with the shared SDP parser, every m= section is answered in order with its mid, BUNDLE
// (RFC 9143) on one transport, rtcp-mux (RFC 5761), ICE-lite (RFC 8445 §2.5) with our ufrag/pwd
// and host candidates, DTLS role passive with our certificate fingerprint (RFC 8842).
// Media we cannot serve is answered inactive, so the offer's BUNDLE stays intact.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtp/sdp.h"
#include "xueliang/frame.h"
#include "xueliang/status.h"

namespace xl::webrtc {

// What the stream sends, as the answer needs to know it.
struct StreamCodecs {
  Codec video = Codec::kNone;  // only H.264 is offered in this version
  uint8_t profileIdc = 0;      // from the stream's SPS: 0x42 Baseline, 0x4d Main, 0x64 High
  Codec audio = Codec::kNone;  // Opus, G.711 A-law or mu-law; AAC is not playable in browsers
  int audioChannels = 0;
};

struct AnswerParams {
  std::string ufrag;
  std::string pwd;
  std::string fingerprint;              // sha-256, "AB:CD:..."
  std::vector<std::string> candidates;  // host addresses ("127.0.0.1", "::1", public IP)
  int port = 0;                         // the WebRTC UDP port
  uint32_t videoSsrc = 0;
  uint32_t audioSsrc = 0;
  std::string cname = "xueliang";
  uint64_t sessionId = 1;
};

struct Negotiated {
  std::string sdp;            // the answer
  int videoPayloadType = -1;  // -1: video not sent
  int audioPayloadType = -1;
  std::string remoteUfrag;
  std::string remotePwd;
  std::string remoteFingerprint;  // sha-256, upper-case hex with colons
};

// The reason and the HTTP status a WHEP endpoint should answer a failed offer with.
struct OfferError {
  int status = 400;  // 400 malformed offer, 406 nothing in common
  std::string reason;
};

// Answers `offer` for a stream sending `codecs`. Errors: the offer does not parse, lacks ICE
// credentials or a sha-256 fingerprint, is not DTLS-SRTP, or has no media we can send.
Result<Negotiated> answerOffer(std::string_view offer, const StreamCodecs& codecs,
                               const AnswerParams& params, OfferError* error = nullptr);

// Picks the H.264 payload type of a video m= section (packetization-mode=1 only): an exact
// profile_idc match first, else one with level-asymmetry-allowed=1; -1 if none. `fmtp` receives
// the offer's fmtp value for the chosen type.
int pickH264(const rtp::SdpMedia& m, uint8_t profileIdc, std::string* fmtp);

}  // namespace xl::webrtc
