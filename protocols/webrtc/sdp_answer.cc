#include "webrtc/sdp_answer.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "xueliang/codec.h"

namespace xl::webrtc {
namespace answer {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

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

Status offerError(OfferError* e, int status, std::string reason) {
  if (e) *e = {status, reason};
  return Status::error(std::move(reason));
}

std::string rejectedSection(const rtp::SdpMedia& m, const std::string& mid) {
  return "m=" + m.media + " 0 " + m.proto + " " + (m.formats.empty() ? "0" : m.formats[0]) +
         "\r\nc=IN IP4 0.0.0.0\r\na=mid:" + mid + "\r\n";
}

namespace {
// An attribute of the media section, else of the session (Firefox puts the fingerprint there).
const std::string* mediaOrSession(const rtp::SdpMedia& m, const rtp::SessionDescription& s,
                                  std::string_view name) {
  if (const std::string* v = m.attribute(name)) return v;
  return s.attribute(name);
}
}  // namespace

Status readRemoteTransport(const rtp::SdpMedia& m, const rtp::SessionDescription& offer,
                           std::string& ufrag, std::string& pwd, std::string& fingerprint,
                           OfferError* error) {
  const std::string* u = mediaOrSession(m, offer, "ice-ufrag");
  const std::string* pw = mediaOrSession(m, offer, "ice-pwd");
  const std::string* fp = mediaOrSession(m, offer, "fingerprint");
  if (!u || !pw || u->empty() || pw->empty())
    return offerError(error, 400, "offer lacks a=ice-ufrag / a=ice-pwd");
  if (!fp) return offerError(error, 400, "offer lacks a=fingerprint");
  if (!ufrag.empty()) return Status::ok();
  ufrag = *u;
  pwd = *pw;
  std::string_view f(*fp);
  if (f.size() < 8 || !iequals(f.substr(0, 8), "sha-256 "))
    return offerError(error, 400, "offer fingerprint is not sha-256");
  f.remove_prefix(8);
  for (char c : f) fingerprint += static_cast<char>(std::toupper(c));
  return Status::ok();
}

std::string transportLines(const std::string& mid, const AnswerParams& p) {
  std::string s = "a=ice-ufrag:" + p.ufrag + "\r\n";
  s += "a=ice-pwd:" + p.pwd + "\r\n";
  s += "a=fingerprint:sha-256 " + p.fingerprint + "\r\n";
  s += "a=setup:passive\r\n";
  s += "a=mid:" + mid + "\r\n";
  return s;
}

std::string rtpSectionHead(const std::string& media, const std::string& fmt, const std::string& mid,
                           std::string_view direction, const AnswerParams& p) {
  std::string body = "m=" + media + " 9 UDP/TLS/RTP/SAVPF " + fmt + "\r\n";
  body += "c=IN IP4 0.0.0.0\r\n";
  body += "a=rtcp:9 IN IP4 0.0.0.0\r\n";
  body += transportLines(mid, p);
  body += "a=" + std::string(direction) + "\r\n";
  body += "a=rtcp-mux\r\n";
  return body;
}

std::string candidateLines(const AnswerParams& p, bool withTcp) {
  std::string body;
  for (size_t c = 0; c < p.candidates.size(); ++c) {
    const std::string& host = p.candidates[c];
    // RFC 8445 §5.1.2.1: host type preference 126, local preference by listed order.
    uint32_t priority = (126u << 24) | ((65535u - static_cast<uint32_t>(c)) << 8) | 255u;
    body += "a=candidate:" + std::to_string(c + 1) + " 1 udp " + std::to_string(priority) + " " +
            host + " " + std::to_string(p.port) + " typ host\r\n";
  }
  for (size_t c = 0; withTcp && p.tcpPort > 0 && c < p.candidates.size(); ++c) {
    // RFC 6544 §4.2: ICE-TCP, passive. A lower type preference than UDP's keeps it a fallback;
    // local preference: direction (passive 4) << 13, then the listed order.
    uint32_t local = (4u << 13) | (8191u - static_cast<uint32_t>(c));
    uint32_t priority = (90u << 24) | (local << 8) | 255u;
    body += "a=candidate:" + std::to_string(p.candidates.size() + c + 1) + " 1 tcp " +
            std::to_string(priority) + " " + p.candidates[c] + " " + std::to_string(p.tcpPort) +
            " typ host tcptype passive\r\n";
  }
  return body + "a=end-of-candidates\r\n";
}

std::string sessionLines(const AnswerParams& p, const std::vector<std::string>& bundle) {
  std::string s = "v=0\r\n";
  s += "o=xueliang " + std::to_string(p.sessionId) + " 2 IN IP4 127.0.0.1\r\n";
  s += "s=-\r\nt=0 0\r\n";
  s += "a=ice-lite\r\n";
  if (!bundle.empty()) {
    s += "a=group:BUNDLE";
    for (auto& b : bundle) s += " " + b;
    s += "\r\n";
  }
  return s;
}

}  // namespace answer

using namespace answer;

namespace {

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

// A decimal fmtp value, or `absent` when the parameter is missing; -1 when it is not a number.
int fmtpNumber(const std::map<std::string, std::string>& params, const char* name, int absent) {
  auto it = params.find(name);
  if (it == params.end()) return absent;
  int v = -1;
  const std::string& t = it->second;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  return ec == std::errc() && end == t.data() + t.size() && v >= 0 ? v : -1;
}

// The payload type of `m` with this encoding at 90 kHz that `score` (of its fmtp parameters)
// rates highest, above 0; -1 if none. `fmtpOut` receives its fmtp value.
template <typename Score>
int bestVideoFormat(const rtp::SdpMedia& m, std::string_view encoding, std::string* fmtpOut,
                    Score&& score) {
  int best = -1, bestScore = 0;
  for (const std::string& f : m.formats) {
    int pt = toPayloadType(f);
    if (pt < 0) continue;
    auto map = rtpmapOf(m, pt);
    if (!map || !iequals(map->encoding, encoding) || map->clockRate != 90000) continue;
    std::string fmtp;
    forPayload(m, "fmtp", pt, &fmtp);
    int s = score(rtp::parseFmtp(std::to_string(pt) + " " + fmtp));
    if (s > bestScore) {
      best = pt;
      bestScore = s;
      if (fmtpOut) *fmtpOut = fmtp;
    }
  }
  return best;
}

// The H.265 format a stream needs, as the offer's fmtp would name it.
std::string h265Wanted(const StreamCodecs& c) {
  return "profile-id=" + std::to_string(c.profileIdc) + ", tier-flag=" + (c.tier ? "1" : "0") +
         ", tx-mode=SRST";
}

// The answer to a data channel section (RFC 8841 §5): our SCTP port and the largest message we
// take (the SCTP association reassembles up to that).
std::string dataChannelSection(const std::string& proto, const std::string& mid,
                               const AnswerParams& p) {
  std::string body = "m=application 9 " + proto + " webrtc-datachannel\r\n";
  body += "c=IN IP4 0.0.0.0\r\n";
  body += transportLines(mid, p);
  body += "a=sctp-port:5000\r\n";
  body += "a=max-message-size:65536\r\n";
  return body + candidateLines(p, true);
}

}  // namespace

StreamCodecs streamCodecs(const MediaInfo* info) {
  StreamCodecs c;
  if (!info) return c;
  if (info->video && info->video->codec == Codec::kH264) {
    if (auto avc = h264::parseAvcC(info->video->config.span())) {
      c.video = Codec::kH264;
      c.profileIdc = avc->profileIdc;
    }
  } else if (info->video && info->video->codec == Codec::kH265) {
    // Answered only to offers with a matching H265/90000 (RFC 7798 §7.2.2): Safari 17+, Chrome
    // with HEVC decoding. The "webrtc" format packetizes it as the rtsp format does.
    if (auto hvc = h265::parseHvcC(info->video->config.span())) {
      c.video = Codec::kH265;
      c.profileIdc = hvc->ptl.profileIdc;
      c.tier = hvc->ptl.tier;
      c.levelIdc = hvc->ptl.levelIdc;
      c.profileCompatibility = hvc->ptl.compatibilityFlags;
    }
  }
  if (info->audio) {
    Codec a = info->audio->codec;
    if (a == Codec::kOpus || a == Codec::kG711A || a == Codec::kG711U) {
      c.audio = a;
      c.audioChannels = info->audio->channels;
    } else if (a == Codec::kAAC) {
      // Browsers cannot play AAC: the "webrtc" format transcodes it to Opus 48 kHz stereo, once
      // per stream (webrtc_muxer.h).
      c.audio = Codec::kOpus;
      c.audioChannels = 2;
    }
  }
  return c;
}

int pickH264(const rtp::SdpMedia& m, uint8_t profileIdc, std::string* fmtpOut) {
  return bestVideoFormat(m, "H264", fmtpOut, [&](std::map<std::string, std::string> params) {
    if (params["packetization-mode"] != "1") return 0;
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
    return profile == profileIdc ? (asymmetry ? 4 : 3) : (asymmetry ? 1 : 0);
  });
}

int pickH265(const rtp::SdpMedia& m, const StreamCodecs& c, std::string* fmtpOut) {
  return bestVideoFormat(m, "H265", fmtpOut, [&](const std::map<std::string, std::string>& params) {
    // RFC 7798 §7.1 defaults: profile-space 0, profile-id 1 (Main), tier-flag 0, level-id 93
    // (level 3.1), tx-mode SRST. We send one RTP stream (SRST) without DON fields.
    auto tx = params.find("tx-mode");
    if (tx != params.end() && !iequals(tx->second, "SRST")) return 0;
    if (fmtpNumber(params, "profile-space", 0) != 0) return 0;
    const int profile = fmtpNumber(params, "profile-id", 1);
    const int tier = fmtpNumber(params, "tier-flag", 0);
    const int level = fmtpNumber(params, "level-id", 93);
    if (profile < 0 || profile > 31 || tier < 0 || tier > 1 || level < 0) return 0;
    if (c.tier && tier == 0) return 0;  // a Main-tier decoder is not bound to take High tier
    const bool exact = profile == c.profileIdc;
    if (!exact && !(c.profileCompatibility & (1u << (31 - profile)))) return 0;
    // As with H.264's level-asymmetry, a level below the stream's is still answered (browser
    // decoders take every common level), but one that covers it wins.
    return (exact ? 3 : 1) + (level >= c.levelIdc ? 1 : 0);
  });
}

Result<Negotiated> answerOffer(std::string_view offerText, const StreamCodecs& codecs,
                               const AnswerParams& p, OfferError* error) {
  auto offer = rtp::parseSdp(offerText);
  if (!offer) return offerError(error, 400, "offer is not valid SDP: " + offer.message());
  if (offer->media.empty()) return offerError(error, 400, "offer has no m= section");

  Negotiated n;
  std::string body;
  std::vector<std::string> bundle;
  bool videoDone = false, audioDone = false, offeredVideo = false;
  for (size_t i = 0; i < offer->media.size(); ++i) {
    const rtp::SdpMedia& m = offer->media[i];
    const std::string* mid = m.attribute("mid");
    if (!mid) return offerError(error, 400, "m= section " + std::to_string(i) + " has no a=mid");
    // RFC 8841 §4: "UDP/DTLS/SCTP webrtc-datachannel" (or TCP/DTLS/SCTP); the first one only.
    const bool dataChannel =
        m.media == "application" && !n.dataChannel &&
        m.proto.find("DTLS/SCTP") != std::string::npos &&
        std::find(m.formats.begin(), m.formats.end(), "webrtc-datachannel") != m.formats.end();
    if (!dataChannel && (m.media == "application" || m.proto.find("SAVPF") == std::string::npos)) {
      // Pre-RFC 8841 data channels and plain RTP/AVP are not for us. Reject the section (port 0).
      body += rejectedSection(m, *mid);
      continue;
    }
    if (Status s =
            readRemoteTransport(m, *offer, n.remoteUfrag, n.remotePwd, n.remoteFingerprint, error);
        !s)
      return s;
    if (dataChannel) {
      if (const std::string* port = m.attribute("sctp-port")) {
        int v = 0;
        auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), v);
        if (ec != std::errc() || end != port->data() + port->size() || v < 1 || v > 65535)
          return offerError(error, 400, "offer has a bad a=sctp-port: " + *port);
        n.sctpPort = v;
      }
      n.dataChannel = true;
      bundle.push_back(*mid);
      body += dataChannelSection(m.proto, *mid, p);
      continue;
    }
    if (m.attribute("sendonly") || m.attribute("inactive"))
      return offerError(error, 400,
                        "m=" + m.media + " is sendonly/inactive: WHEP offers receive media");

    int pt = -1;
    std::string fmtp;
    uint32_t ssrc = 0;
    std::string encoding;
    if (m.media == "video" && !videoDone && codecs.video != Codec::kNone) {
      const bool hevc = codecs.video == Codec::kH265;
      offeredVideo = true;
      pt = hevc ? pickH265(m, codecs, &fmtp) : pickH264(m, codecs.profileIdc, &fmtp);
      if (pt >= 0) {
        n.videoPayloadType = pt;
        videoDone = true;
        ssrc = p.videoSsrc;
        encoding = hevc ? "H265/90000" : "H264/90000";
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
    body += rtpSectionHead(m.media, fmt, *mid, pt >= 0 ? "sendonly" : "inactive", p);
    if (pt >= 0) {
      body += "a=rtpmap:" + std::to_string(pt) + " " + encoding + "\r\n";
      if (!fmtp.empty()) body += "a=fmtp:" + std::to_string(pt) + " " + fmtp + "\r\n";
      if (m.media == "video") {
        body += "a=rtcp-fb:" + std::to_string(pt) + " nack\r\n";
        body += "a=rtcp-fb:" + std::to_string(pt) + " nack pli\r\n";
        // FIR (RFC 5104) restarts the viewer like PLI; REMB is the browser's bandwidth estimate.
        body += "a=rtcp-fb:" + std::to_string(pt) + " ccm fir\r\n";
        body += "a=rtcp-fb:" + std::to_string(pt) + " goog-remb\r\n";
      }
      body += "a=msid:" + p.cname + " " + m.media + "\r\n";
      body += "a=ssrc:" + std::to_string(ssrc) + " cname:" + p.cname + "\r\n";
    } else {
      std::string rest;
      if (!fmt.empty() && forPayload(m, "rtpmap", toPayloadType(fmt), &rest))
        body += "a=rtpmap:" + fmt + " " + rest + "\r\n";
    }
    body += candidateLines(p, true);
  }
  // An H.265 stream to a viewer that asked for video but cannot take H.265 (Firefox, Chrome
  // without HEVC decoding): a clear refusal rather than a session without picture.
  if (codecs.video == Codec::kH265 && offeredVideo && n.videoPayloadType < 0)
    return offerError(error, 406,
                      "the stream's video is H.265 (" + h265Wanted(codecs) +
                          ") and the offer has no such H265/90000 payload type: "
                          "this browser cannot receive H.265 over WebRTC");
  if (n.videoPayloadType < 0 && n.audioPayloadType < 0) {
    std::string want = codecs.video == Codec::kH264
                           ? "H.264 with packetization-mode=1 (profile_idc " +
                                 std::to_string(codecs.profileIdc) +
                                 " or level-asymmetry-allowed=1)"
                       : codecs.video == Codec::kH265 ? "H.265 (" + h265Wanted(codecs) + ")"
                                                      : "no playable codec in the stream";
    if (codecs.audio != Codec::kNone) want += " or " + std::string(codecName(codecs.audio));
    return offerError(error, 406, "no codec in common with the stream: it needs " + want);
  }
  std::string s = sessionLines(p, bundle);
  s += "a=msid-semantic: WMS " + p.cname + "\r\n";
  n.sdp = s + body;
  return n;
}

}  // namespace xl::webrtc
