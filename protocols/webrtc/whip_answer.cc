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

// What we ingest of H.265 (RFC 7798): Main, else Main 10 (both browsers' offers carry them),
// either tier, any level, tx-mode SRST; pickH265 rates the offer's formats against it.
StreamCodecs ingestibleH265() {
  StreamCodecs c;
  c.video = Codec::kH265;
  c.profileIdc = 1;
  c.profileCompatibility = (1u << 30) | (1u << 29);  // general_profile_compatibility_flag[1], [2]
  return c;
}

// The first H.264 format with packetization-mode=1 whatever its profile (an encoder's High
// profile without level-asymmetry-allowed, or no profile-level-id, RFC 6184 §8.1's Baseline
// default): we receive what the publisher sends, the profile only matters to viewers.
int anyH264(const rtp::SdpMedia& m, std::string* fmtp) {
  for (const std::string& f : m.formats) {
    int pt = toPayloadType(f);
    auto map = rtpmapOf(m, pt);
    if (!map || !iequals(map->encoding, "H264") || map->clockRate != 90000) continue;
    std::string v;
    forPayload(m, "fmtp", pt, &v);
    if (rtp::parseFmtp(std::to_string(pt) + " " + v)["packetization-mode"] == "1") {
      *fmtp = v;
      return pt;
    }
  }
  return -1;
}

// H.264 first, Constrained Baseline / Baseline preferred (every browser encodes it, no B-frames,
// and every WHEP viewer decodes it); H.265 only when the offer has no usable H.264.
int pickVideo(const rtp::SdpMedia& m, std::string* encoding, std::string* fmtp) {
  int pt = pickH264(m, 0x42, fmtp);
  if (pt < 0) pt = anyH264(m, fmtp);
  if (pt >= 0) {
    *encoding = "H264/90000";
    return pt;
  }
  pt = pickH265(m, ingestibleH265(), fmtp);
  if (pt >= 0) *encoding = "H265/90000";
  return pt;
}

// The video encodings a section offers, for the refusal (retransmission and FEC left out).
std::string offeredEncodings(const rtp::SdpMedia& m) {
  std::string out;
  for (const std::string& f : m.formats) {
    auto map = rtpmapOf(m, toPayloadType(f));
    if (!map || out.find(map->encoding) != std::string::npos) continue;
    bool repair = false;
    for (const char* skip : {"rtx", "red", "ulpfec", "flexfec-03"})
      repair = repair || iequals(map->encoding, skip);
    if (!repair) out += (out.empty() ? "" : ", ") + map->encoding;
  }
  return out.empty() ? "none" : out;
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
      pt = pickVideo(m, &encoding, &fmtp);
    } else if (sending && m.media == "audio" && !audio) {
      pt = pickAudio(m, &encoding);
      if (pt >= 0) forPayload(m, "fmtp", pt, &fmtp);
    }
    if (pt >= 0) {
      auto track = rtp::trackFromMedia(narrowed(m, pt));
      if (!track && m.media == "video")
        return offerError(
            error, 406,
            "the offer's " + encoding + " video cannot be ingested: " + track.message());
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
    // A camera we would silently drop: refused, so that the publisher learns it at once.
    if (sending && m.media == "video" && !video && pt < 0)
      return offerError(error, 406,
                        "no video codec we can ingest: send H.264 (packetization-mode=1) or H.265 "
                        "(profile-id 1 or 2, tx-mode=SRST); the offer's video has " +
                            offeredEncodings(m));
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
                      "no codec we can ingest: send H.264 (packetization-mode=1), H.265, Opus or "
                      "G.711");
  std::string s = sessionLines(p, n.mids);
  n.sdp = s + body;
  return n;
}

}  // namespace xl::webrtc
