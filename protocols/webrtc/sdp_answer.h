// The SDP answer to a WHEP offer (RFC 9429 JSEP, RFC 8829 §5.3; WHEP draft §4.2): the offer is
// parsed with the shared SDP parser, every m= section is answered in order with its mid, BUNDLE
// (RFC 9143) on one transport, rtcp-mux (RFC 5761), ICE-lite (RFC 8445 §2.5) with our ufrag/pwd
// and host candidates, DTLS role passive with our certificate fingerprint (RFC 8842).
// Media we cannot serve is answered inactive, so the offer's BUNDLE stays intact.
// A data channel section (m=application UDP/DTLS/SCTP webrtc-datachannel) is answered in the
// BUNDLE with our SCTP port (RFC 8841).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtp/sdp.h"
#include "xueliang/frame.h"
#include "xueliang/status.h"
#include "xueliang/track.h"

namespace xl::webrtc {

// What the stream sends, as the answer needs to know it.
struct StreamCodecs {
  Codec video = Codec::kNone;  // H.264 or H.265
  // H.264: profile_idc from the SPS (0x42 Baseline, 0x4d Main, 0x64 High). H.265:
  // general_profile_idc (1 Main, 2 Main 10, 4 Range extensions).
  uint8_t profileIdc = 0;
  // H.265 only (RFC 7798 §7.1): general_tier_flag, general_level_idc (30 x level) and
  // general_profile_compatibility_flag[j] as bit 31 - j, as in the hvcC record.
  bool tier = false;
  uint8_t levelIdc = 0;
  uint32_t profileCompatibility = 0;
  Codec audio = Codec::kNone;  // Opus, G.711 A-law or mu-law; AAC is not playable in browsers
  int audioChannels = 0;
};

// The codecs of a stream as the answer sees them: H.264 or H.265 video with its profile from the
// configuration record; Opus and G.711 audio as they are, AAC as the Opus the "webrtc" format
// transcodes it to. Codecs WebRTC cannot carry are left kNone.
StreamCodecs streamCodecs(const MediaInfo* info);

struct AnswerParams {
  std::string ufrag;
  std::string pwd;
  std::string fingerprint;              // sha-256, "AB:CD:..."
  std::vector<std::string> candidates;  // host addresses ("127.0.0.1", "::1", public IP)
  int port = 0;                         // the WebRTC UDP port
  int tcpPort = 0;                      // ICE-TCP passive candidates on this port; 0: none
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
  // m=application ... webrtc-datachannel answered (RFC 8841): SCTP over the same DTLS.
  bool dataChannel = false;
  int sctpPort = 5000;  // the offer's a=sctp-port
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

// Picks the H.265 payload type of a video m= section (RFC 7798 §7.2.2): tx-mode SRST (the
// default), profile-space 0, a tier-flag at or above the stream's, and a profile-id equal to the
// stream's or one it declares compatible (a Main stream plays on a Main 10 decoder); the exact
// profile first, then one whose level-id covers the stream's. -1 if none. `fmtp` receives the
// offer's fmtp value for the chosen type.
int pickH265(const rtp::SdpMedia& m, const StreamCodecs& codecs, std::string* fmtp);

// The pieces the WHEP answer (here) and the WHIP answer (whip_answer.h) are both built from.
namespace answer {

bool iequals(std::string_view a, std::string_view b);  // ASCII, case-insensitive
// The value of "a=<name>:<pt> ..." for payload type `pt`; `rest` gets it without "<pt> ".
const std::string* forPayload(const rtp::SdpMedia& m, std::string_view name, int pt,
                              std::string* rest);
int toPayloadType(std::string_view s);  // 0..127, else -1
// The encoding of payload type `pt`: its rtpmap, or the static assignment (RFC 3551 §6).
std::optional<rtp::RtpMap> rtpmapOf(const rtp::SdpMedia& m, int pt);
// Fills `error` (if any) and returns the failure.
Status offerError(OfferError* error, int status, std::string reason);
// A section we do not take part in, rejected with port 0 (RFC 3264 §6).
std::string rejectedSection(const rtp::SdpMedia& m, const std::string& mid);
// Checks the ICE credentials and fingerprint that apply to section `m` (its own, else the
// session's); the first media section's fill `ufrag`, `pwd` and `fingerprint` (upper-case hex).
Status readRemoteTransport(const rtp::SdpMedia& m, const rtp::SessionDescription& offer,
                           std::string& ufrag, std::string& pwd, std::string& fingerprint,
                           OfferError* error);
// The transport lines of every answered section: our ICE credentials, DTLS passive with our
// fingerprint (RFC 8842), and the section's mid.
std::string transportLines(const std::string& mid, const AnswerParams& p);
// "m=" through "a=rtcp-mux" of an answered RTP section: our ICE credentials, DTLS passive with
// our fingerprint, and `direction` (sendonly, recvonly, inactive).
std::string rtpSectionHead(const std::string& media, const std::string& fmt, const std::string& mid,
                           std::string_view direction, const AnswerParams& p);
// Our host candidates (ICE-TCP ones too when `withTcp` and p.tcpPort) and end-of-candidates.
std::string candidateLines(const AnswerParams& p, bool withTcp);
// The session-level lines: origin, ICE-lite and the BUNDLE group (none when `bundle` is empty).
std::string sessionLines(const AnswerParams& p, const std::vector<std::string>& bundle);

}  // namespace answer

}  // namespace xl::webrtc
