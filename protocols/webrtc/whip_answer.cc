#include "webrtc/whip_answer.h"

#include <cctype>
#include <charconv>

namespace xl::webrtc {
using namespace answer;

namespace {

// Opus first (RFC 7587 §7: opus/48000/2), then G.711 (static or mapped PCMA/PCMU at 8 kHz).
int pickAudio(const rtp::SdpMedia& m, std::string* encoding) {
  int best = -1, bestRank = 0;
  for (const std::string& f : m.formats) {
    int pt = toPayloadType(f);
    if (pt < 0) continue;
    auto found = rtpmapOf(m, pt);
    if (!found) continue;
    const rtp::RtpMap& map = *found;
    int rank = 0;
    if (iequals(map.encoding, "opus") && map.clockRate == 48000) rank = 3;
    if (iequals(map.encoding, "PCMA") && map.clockRate == 8000) rank = 2;
    if (iequals(map.encoding, "PCMU") && map.clockRate == 8000) rank = 1;
    if (rank > bestRank) {
      best = pt;
      bestRank = rank;
      *encoding = rank == 3 ? "opus/48000/2" : rank == 2 ? "PCMA/8000" : "PCMU/8000";
    }
  }
  return best;
}

// The offered section narrowed to payload type `pt`, for rtp::trackFromMedia.
rtp::SdpMedia narrowed(const rtp::SdpMedia& m, int pt) {
  rtp::SdpMedia out;
  out.media = m.media;
  out.proto = "RTP/AVP";
  out.formats = {std::to_string(pt)};
  for (const auto& a : m.attributes)
    if ((a.name == "rtpmap" || a.name == "fmtp") && forPayload(m, a.name, pt, nullptr) == &a.value)
      out.attributes.push_back(a);
  return out;
}

}  // namespace

Result<WhipNegotiated> answerWhipOffer(std::string_view offerText, const AnswerParams& p,
                                       OfferError* error) {
  auto offer = rtp::parseSdp(offerText);
  if (!offer) return offerError(error, 400, "offer is not valid SDP: " + offer.message());
  if (offer->media.empty()) return offerError(error, 400, "offer has no m= section");

  WhipNegotiated n;
  std::string body;
  bool video = false, audio = false, sends = false;
  for (size_t i = 0; i < offer->media.size(); ++i) {
    const rtp::SdpMedia& m = offer->media[i];
    const std::string* mid = m.attribute("mid");
    if (!mid) return offerError(error, 400, "m= section " + std::to_string(i) + " has no a=mid");
    if (m.media == "application" || m.proto.find("SAVPF") == std::string::npos) {
      body += rejectedSection(m, *mid);
      continue;
    }
    n.mids.push_back(*mid);  // RFC 8843 §7.3.1: rejected sections stay out of the BUNDLE group
    if (Status s =
            readRemoteTransport(m, *offer, n.remoteUfrag, n.remotePwd, n.remoteFingerprint, error);
        !s)
      return s;
    // RFC 9725 §4.2: the client sends; a section that only receives gets nothing from us.
    bool sending = !m.attribute("recvonly") && !m.attribute("inactive");
    sends = sends || sending;
    int pt = -1;
    std::string encoding, fmtp;
    if (sending && m.media == "video" && !video) {
      // Constrained Baseline / Baseline first: every browser encodes it, no B-frames.
      pt = pickH264(m, 0x42, &fmtp);
      encoding = "H264/90000";
    } else if (sending && m.media == "audio" && !audio) {
      pt = pickAudio(m, &encoding);
      if (pt >= 0) forPayload(m, "fmtp", pt, &fmtp);
    }
    if (pt >= 0) {
      auto track = rtp::trackFromMedia(narrowed(m, pt));
      if (!track) {
        pt = -1;
      } else if (m.media == "video") {
        video = true;
        n.tracks.insert(n.tracks.begin(), std::move(*track));
      } else {
        audio = true;
        n.tracks.push_back(std::move(*track));
      }
    }
    std::string fmt = pt >= 0 ? std::to_string(pt) : (m.formats.empty() ? "0" : m.formats[0]);
    body += rtpSectionHead(m.media, fmt, *mid, pt >= 0 ? "recvonly" : "inactive", p);
    if (pt >= 0) {
      std::string t = std::to_string(pt);
      body += "a=rtpmap:" + t + " " + encoding + "\r\n";
      if (!fmtp.empty()) body += "a=fmtp:" + t + " " + fmtp + "\r\n";
      if (m.media == "video") {
        // RFC 4585 §4.2: we ask for retransmissions and keyframes (PLI, RFC 5104 FIR).
        body += "a=rtcp-fb:" + t + " nack\r\n";
        body += "a=rtcp-fb:" + t + " nack pli\r\n";
        body += "a=rtcp-fb:" + t + " ccm fir\r\n";
      }
    } else {
      std::string rest;
      if (forPayload(m, "rtpmap", toPayloadType(fmt), &rest))
        body += "a=rtpmap:" + fmt + " " + rest + "\r\n";
    }
    // ICE-TCP too (when p.tcpPort): a publisher whose network blocks UDP publishes over it.
    body += candidateLines(p, true);
  }
  if (!sends)
    return offerError(error, 400, "WHIP offers send media: every m= section is recvonly/inactive");
  if (n.tracks.empty())
    return offerError(error, 406,
                      "no codec we can ingest: send H.264 (packetization-mode=1), Opus or G.711");
  std::string s = sessionLines(p, n.mids);
  n.sdp = s + body;
  return n;
}

}  // namespace xl::webrtc
