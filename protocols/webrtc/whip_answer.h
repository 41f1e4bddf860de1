// The SDP answer to a WHIP offer (RFC 9725 §4.2): a browser or phone offers sendonly H.264 or
// H.265 and Opus; we answer recvonly on one BUNDLEd transport with rtcp-mux, ICE-lite and DTLS
// passive, as the WHEP answer does. Video is H.264 packetization-mode=1 (RFC 6184 §8.2.2: the
// answer echoes the chosen offer fmtp, so the browser encodes that profile); H.265 (RFC 7798
// §7.2.2, Main or Main 10, tx-mode SRST, fmtp echoed likewise) only when the offer has no usable
// H.264, because every WHEP viewer decodes H.264 and many browsers cannot decode H.265. Audio is
// Opus (RFC 7587 §7), else G.711. The chosen formats come back as RtpTrackInfo for the shared RTP
// ingest.
#pragma once

#include <string_view>
#include <vector>

#include "rtp/sdp_media.h"
#include "webrtc/sdp_answer.h"

namespace xl::webrtc {

struct WhipNegotiated {
  std::string sdp;  // the answer
  std::string remoteUfrag;
  std::string remotePwd;
  std::string remoteFingerprint;          // sha-256, upper-case hex with colons
  std::vector<rtp::RtpTrackInfo> tracks;  // what the publisher will send: video first
  std::vector<std::string> mids;          // the BUNDLEd (not rejected) mids, in order
};

// Answers a WHIP offer. Errors (400/406 in `error`): the offer does not parse, lacks ICE
// credentials or a sha-256 fingerprint, sends nothing (every section recvonly/inactive), sends
// video with neither H.264 (packetization-mode=1) nor H.265 (the reason names what it offered),
// or has no H.264, H.265, Opus or G.711 at all. `params.videoSsrc` is the SSRC our RTCP
// (receiver reports, PLI) is sent from.
Result<WhipNegotiated> answerWhipOffer(std::string_view offer, const AnswerParams& params,
                                       OfferError* error = nullptr);

}  // namespace xl::webrtc
