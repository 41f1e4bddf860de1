#include "webrtc/sdp_answer.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace xl::webrtc {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The value of "a=<name>:<pt> ..." for payload type `pt`, without the "<pt> " prefix.
const std::string* forPayload(const rtp::SdpMedia& m, std::string_view name, int pt,
                              std::string* rest) {
  std::string prefix = std::to_string(pt);
  for (const auto& a : m.attributes) {
    if (a.name != name || !a.value.starts_with(prefix)) continue;
    std::string_view v(a.value);
    v.remove_prefix(prefix.size());
    if (!v.empty() && v[0] != ' ') continue;
    while (!v.empty() && v[0] == ' ') v.remove_prefix(1);
    if (rest) *rest = std::string(v);
    return &a.value;
  }
  return nullptr;
}

int toPayloadType(std::string_view s) {
  int v = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0 || v > 127) return -1;
  return v;
}

// The encoding of payload type `pt`: its rtpmap, or the static assignment (RFC 3551 §6).
std::optional<rtp::RtpMap> rtpmapOf(const rtp::SdpMedia& m, int pt) {
  std::string v;
  if (forPayload(m, "rtpmap", pt, &v)) {
    auto r = rtp::parseRtpMap(std::to_string(pt) + " " + v);
    if (r) return *r;
    return std::nullopt;
  }
  if (pt == 0) return rtp::RtpMap{0, "PCMU", 8000, 1};
  if (pt == 8) return rtp::RtpMap{8, "PCMA", 8000, 1};
  return std::nullopt;
}

// An attribute of the media section, else of the session (Firefox puts the fingerprint there).
const std::string* mediaOrSession(const rtp::SdpMedia& m, const rtp::SessionDescription& s,
                                  std::string_view name) {
  if (const std::string* v = m.attribute(name)) return v;
  return s.attribute(name);
}

int pickAudio(const rtp::SdpMedia& m, Codec codec) {
  for (const std::string& f : m.formats) {
    int pt = toPayloadType(f);
    if (pt < 0) continue;
    auto map = rtpmapOf(m, pt);
    if (!map) continue;
    if (codec == Codec::kOpus && iequals(map->encoding, "opus") && map->clockRate == 48000)
      return pt;
    if (codec == Codec::kG711A && iequals(map->encoding, "PCMA") && map->clockRate == 8000)
      return pt;
    if (codec == Codec::kG711U && iequals(map->encoding, "PCMU") && map->clockRate == 8000)
      return pt;
  }
  return -1;
}

Status offerError(OfferError* e, int status, std::string reason) {
  if (e) *e = {status, reason};
  return Status::error(std::move(reason));
}

}  // namespace

int pickH264(const rtp::SdpMedia& m, uint8_t profileIdc, std::string* fmtpOut) {
  int best = -1, bestScore = 0;
  std::string bestFmtp;
  for (const std::string& f : m.formats) {
    int pt = toPayloadType(f);
    if (pt < 0) continue;
    auto map = rtpmapOf(m, pt);
    if (!map || !iequals(map->encoding, "H264") || map->clockRate != 90000) continue;
    std::string fmtp;
    forPayload(m, "fmtp", pt, &fmtp);
    auto params = rtp::parseFmtp(std::to_string(pt) + " " + fmtp);
    if (params["packetization-mode"] != "1") continue;
    const std::string& pli = params["profile-level-id"];
    int profile = -1;
    if (pli.size() == 6) {
      unsigned v = 0;
      auto [p, ec] = std::from_chars(pli.data(), pli.data() + 2, v, 16);
      if (ec == std::errc() && p == pli.data() + 2) profile = static_cast<int>(v);
    }
    bool asymmetry = params["level-asymmetry-allowed"] == "1";
    // RFC 6184 §8.2.2: an exact profile lets the decoder take our stream as is; with
    // level-asymmetry-allowed the browser's decoder (which handles every common profile) still
    // accepts a stream above the offered level.
    int score = profile == profileIdc ? (asymmetry ? 4 : 3) : (asymmetry ? 1 : 0);
    if (score > bestScore) {
      best = pt;
      bestScore = score;
      bestFmtp = fmtp;
    }
  }
  if (best >= 0 && fmtpOut) *fmtpOut = bestFmtp;
  return best;
}

Result<Negotiated> answerOffer(std::string_view offerText, const StreamCodecs& codecs,
                               const AnswerParams& p, OfferError* error) {
  auto offer = rtp::parseSdp(offerText);
  if (!offer) return offerError(error, 400, "offer is not valid SDP: " + offer.message());
  if (offer->media.empty()) return offerError(error, 400, "offer has no m= section");

  Negotiated n;
  std::string body;
  std::vector<std::string> bundle;
  bool videoDone = false, audioDone = false;
  for (size_t i = 0; i < offer->media.size(); ++i) {
    const rtp::SdpMedia& m = offer->media[i];
    const std::string* mid = m.attribute("mid");
    if (!mid) return offerError(error, 400, "m= section " + std::to_string(i) + " has no a=mid");
    if (m.media == "application" || m.proto.find("SAVPF") == std::string::npos) {
      // Data channels come later; plain RTP/AVP is not WebRTC. Reject the section (port 0).
      body += "m=" + m.media + " 0 " + m.proto + " " + (m.formats.empty() ? "0" : m.formats[0]) +
              "\r\nc=IN IP4 0.0.0.0\r\na=mid:" + *mid + "\r\n";
      continue;
    }
    const std::string* ufrag = mediaOrSession(m, *offer, "ice-ufrag");
    const std::string* pwd = mediaOrSession(m, *offer, "ice-pwd");
    const std::string* fp = mediaOrSession(m, *offer, "fingerprint");
    if (!ufrag || !pwd || ufrag->empty() || pwd->empty())
      return offerError(error, 400, "offer lacks a=ice-ufrag / a=ice-pwd");
    if (!fp) return offerError(error, 400, "offer lacks a=fingerprint");
    if (n.remoteUfrag.empty()) {
      n.remoteUfrag = *ufrag;
      n.remotePwd = *pwd;
      std::string_view f(*fp);
      if (f.size() < 8 || !iequals(f.substr(0, 8), "sha-256 "))
        return offerError(error, 400, "offer fingerprint is not sha-256");
      f.remove_prefix(8);
      for (char c : f) n.remoteFingerprint += static_cast<char>(std::toupper(c));
    }
    if (m.attribute("sendonly") || m.attribute("inactive"))
      return offerError(error, 400,
                        "m=" + m.media + " is sendonly/inactive: WHEP offers receive media");

    int pt = -1;
    std::string fmtp;
    uint32_t ssrc = 0;
    std::string encoding;
    if (m.media == "video" && !videoDone && codecs.video == Codec::kH264) {
      pt = pickH264(m, codecs.profileIdc, &fmtp);
      if (pt >= 0) {
        n.videoPayloadType = pt;
        videoDone = true;
        ssrc = p.videoSsrc;
        encoding = "H264/90000";
      }
    } else if (m.media == "audio" && !audioDone && codecs.audio != Codec::kNone) {
      pt = pickAudio(m, codecs.audio);
      if (pt >= 0) {
        n.audioPayloadType = pt;
        audioDone = true;
        ssrc = p.audioSsrc;
        encoding = codecs.audio == Codec::kOpus    ? "opus/48000/2"
                   : codecs.audio == Codec::kG711A ? "PCMA/8000"
                                                   : "PCMU/8000";
        if (codecs.audio == Codec::kOpus)
          fmtp = codecs.audioChannels == 2 ? "minptime=10;useinbandfec=1;stereo=1"
                                           : "minptime=10;useinbandfec=1";
      }
    }
    bundle.push_back(*mid);
    // Inactive sections still answer one of the offered formats (RFC 3264 §6).
    std::string fmt = pt >= 0 ? std::to_string(pt) : (m.formats.empty() ? "0" : m.formats[0]);
    body += "m=" + m.media + " 9 UDP/TLS/RTP/SAVPF " + fmt + "\r\n";
    body += "c=IN IP4 0.0.0.0\r\n";
    body += "a=rtcp:9 IN IP4 0.0.0.0\r\n";
    body += "a=ice-ufrag:" + p.ufrag + "\r\n";
    body += "a=ice-pwd:" + p.pwd + "\r\n";
    body += "a=fingerprint:sha-256 " + p.fingerprint + "\r\n";
    body += "a=setup:passive\r\n";
    body += "a=mid:" + *mid + "\r\n";
    body += pt >= 0 ? "a=sendonly\r\n" : "a=inactive\r\n";
    body += "a=rtcp-mux\r\n";
    if (pt >= 0) {
      body += "a=rtpmap:" + std::to_string(pt) + " " + encoding + "\r\n";
      if (!fmtp.empty()) body += "a=fmtp:" + std::to_string(pt) + " " + fmtp + "\r\n";
      if (m.media == "video") {
        body += "a=rtcp-fb:" + std::to_string(pt) + " nack\r\n";
        body += "a=rtcp-fb:" + std::to_string(pt) + " nack pli\r\n";
      }
      body += "a=msid:" + p.cname + " " + m.media + "\r\n";
      body += "a=ssrc:" + std::to_string(ssrc) + " cname:" + p.cname + "\r\n";
    } else {
      std::string rest;
      if (!fmt.empty() && forPayload(m, "rtpmap", toPayloadType(fmt), &rest))
        body += "a=rtpmap:" + fmt + " " + rest + "\r\n";
    }
    for (size_t c = 0; c < p.candidates.size(); ++c) {
      const std::string& host = p.candidates[c];
      // RFC 8445 §5.1.2.1: host type preference 126, local preference by listed order.
      uint32_t priority = (126u << 24) | ((65535u - static_cast<uint32_t>(c)) << 8) | 255u;
      body += "a=candidate:" + std::to_string(c + 1) + " 1 udp " + std::to_string(priority) + " " +
              host + " " + std::to_string(p.port) + " typ host\r\n";
    }
    body += "a=end-of-candidates\r\n";
  }
  if (n.videoPayloadType < 0 && n.audioPayloadType < 0) {
    std::string want = codecs.video == Codec::kH264
                           ? "H.264 with packetization-mode=1 (profile_idc " +
                                 std::to_string(codecs.profileIdc) +
                                 " or level-asymmetry-allowed=1)"
                           : "no playable codec in the stream";
    if (codecs.audio != Codec::kNone) want += " or " + std::string(codecName(codecs.audio));
    return offerError(error, 406, "no codec in common with the stream: it needs " + want);
  }
  std::string s = "v=0\r\n";
  s += "o=xueliang " + std::to_string(p.sessionId) + " 2 IN IP4 127.0.0.1\r\n";
  s += "s=-\r\nt=0 0\r\n";
  s += "a=ice-lite\r\n";
  if (!bundle.empty()) {
    s += "a=group:BUNDLE";
    for (auto& b : bundle) s += " " + b;
    s += "\r\n";
  }
  s += "a=msid-semantic: WMS " + p.cname + "\r\n";
  n.sdp = s + body;
  return n;
}

}  // namespace xl::webrtc
