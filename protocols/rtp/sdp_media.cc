#include "rtp/sdp_media.h"

#include <algorithm>
#include <charconv>

namespace xl::rtp {
namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

SdpMedia baseMedia(const char* kind, uint8_t pt, const std::string& control) {
  SdpMedia m;
  m.media = kind;
  m.port = 0;
  m.proto = "RTP/AVP";
  m.formats = {std::to_string(pt)};
  return m;
}

std::string joinBase64(const std::vector<Bytes>& list) {
  std::string out;
  for (auto& b : list) {
    if (!out.empty()) out += ',';
    out += base64Encode(b);
  }
  return out;
}

Result<std::vector<Bytes>> splitBase64(const std::string& v) {
  std::vector<Bytes> out;
  size_t pos = 0;
  while (pos <= v.size()) {
    auto comma = v.find(',', pos);
    std::string_view part(v.data() + pos, (comma == std::string::npos ? v.size() : comma) - pos);
    if (!part.empty()) {
      auto b = base64Decode(part);
      if (!b) return b.status();
      if (!b->empty()) out.push_back(std::move(*b));
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

int intParam(const std::map<std::string, std::string>& f, const char* key, int def) {
  auto it = f.find(key);
  if (it == f.end()) return def;
  int v = def;
  auto r = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return r.ec == std::errc() ? v : def;
}

}  // namespace

uint8_t payloadTypeFor(Codec codec, uint8_t dynamic) {
  if (codec == Codec::kG711U) return 0;
  if (codec == Codec::kG711A) return 8;
  return dynamic;
}

Result<SdpMedia> describeVideo(const VideoTrack& t, const std::string& control) {
  const uint8_t pt = kVideoPayloadType;
  SdpMedia m = baseMedia("video", pt, control);
  std::string fmtp = std::to_string(pt) + " ";
  if (t.codec == Codec::kH264) {
    auto avc = h264::parseAvcC(t.config.span());
    if (!avc) return Status::error("avcC: " + avc.message());
    m.attributes.push_back({"rtpmap", std::to_string(pt) + " H264/90000"});
    // RFC 6184 §8.1: profile-level-id is the SPS's profile_idc, constraint flags and level_idc.
    uint8_t pli[3] = {avc->profileIdc, avc->profileCompatibility, avc->levelIdc};
    if (!avc->sps.empty() && avc->sps[0].size() >= 4)
      std::copy(avc->sps[0].begin() + 1, avc->sps[0].begin() + 4, pli);
    fmtp += "packetization-mode=1;profile-level-id=" + hexEncode(pli) +
            ";sprop-parameter-sets=" + joinBase64(avc->sps) + "," + joinBase64(avc->pps);
  } else if (t.codec == Codec::kH265) {
    auto hvc = h265::parseHvcC(t.config.span());
    if (!hvc) return Status::error("hvcC: " + hvc.message());
    m.attributes.push_back({"rtpmap", std::to_string(pt) + " H265/90000"});
    fmtp += "profile-id=" + std::to_string(hvc->ptl.profileIdc) +
            ";tier-flag=" + std::to_string(hvc->ptl.tier ? 1 : 0) +
            ";level-id=" + std::to_string(hvc->ptl.levelIdc) +
            ";sprop-vps=" + joinBase64(hvc->ps.vps) + ";sprop-sps=" + joinBase64(hvc->ps.sps) +
            ";sprop-pps=" + joinBase64(hvc->ps.pps);
  } else {
    return Status::error("no RTP carriage for video codec " + std::string(codecName(t.codec)));
  }
  m.attributes.push_back({"fmtp", fmtp});
  if (t.fps > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", t.fps);
    m.attributes.push_back({"framerate", buf});
  }
  if (t.width > 0 && t.height > 0) {
    m.attributes.push_back({"framesize", std::to_string(pt) + " " + std::to_string(t.width) + "-" +
                                             std::to_string(t.height)});
  }
  m.attributes.push_back({"control", control});
  return m;
}

Result<SdpMedia> describeAudio(const AudioTrack& t, const std::string& control) {
  const uint8_t pt = payloadTypeFor(t.codec, kAudioPayloadType);
  SdpMedia m = baseMedia("audio", pt, control);
  std::string p = std::to_string(pt);
  switch (t.codec) {
    case Codec::kAAC: {
      if (t.sampleRate <= 0) return Status::error("AAC track without a sample rate");
      m.attributes.push_back({"rtpmap", p + " MPEG4-GENERIC/" + std::to_string(t.sampleRate) + "/" +
                                            std::to_string(std::max(1, t.channels))});
      m.attributes.push_back({"fmtp", p +
                                          " profile-level-id=1;mode=AAC-hbr;sizelength=13;"
                                          "indexlength=3;indexdeltalength=3;config=" +
                                          hexEncode(t.config.span())});
      break;
    }
    case Codec::kG711U:
      m.attributes.push_back({"rtpmap", p + " PCMU/8000"});
      break;
    case Codec::kG711A:
      m.attributes.push_back({"rtpmap", p + " PCMA/8000"});
      break;
    case Codec::kOpus:
      m.attributes.push_back({"rtpmap", p + " opus/48000/2"});
      break;
    default:
      return Status::error("no RTP carriage for audio codec " + std::string(codecName(t.codec)));
  }
  m.attributes.push_back({"control", control});
  return m;
}

Result<RtpTrackInfo> trackFromMedia(const SdpMedia& m) {
  RtpTrackInfo t;
  if (m.media == "video")
    t.kind = MediaKind::kVideo;
  else if (m.media == "audio")
    t.kind = MediaKind::kAudio;
  else
    return Status::error("unsupported media '" + m.media + "'");
  if (m.formats.empty()) return Status::error("m= line without a payload type");
  int pt = -1;
  auto r = std::from_chars(m.formats[0].data(), m.formats[0].data() + m.formats[0].size(), pt);
  if (r.ec != std::errc() || pt < 0 || pt > 127) return Status::error("bad payload type");
  t.payloadType = static_cast<uint8_t>(pt);
  if (const std::string* c = m.attribute("control")) t.control = *c;

  RtpMap map;
  bool mapped = false;
  std::map<std::string, std::string> fmtp;
  for (auto& a : m.attributes) {
    if (a.name == "rtpmap") {
      auto rm = parseRtpMap(a.value);
      if (rm && rm->payloadType == pt) map = *rm, mapped = true;
    } else if (a.name == "fmtp" && a.value.starts_with(m.formats[0] + " ")) {
      fmtp = parseFmtp(a.value);
    }
  }
  if (!mapped) {  // RFC 3551 §6 static types
    if (pt == 0)
      map = {0, "PCMU", 8000, 1};
    else if (pt == 8)
      map = {8, "PCMA", 8000, 1};
    else
      return Status::error("dynamic payload type " + std::to_string(pt) + " without rtpmap");
  }
  t.clockRate = map.clockRate;
  t.channels = map.channels ? map.channels : 1;
  std::string enc = upper(map.encoding);

  if (enc == "H264" || enc == "H265" || enc == "HEVC") {
    t.codec = enc == "H264" ? Codec::kH264 : Codec::kH265;
    if (t.kind != MediaKind::kVideo) return Status::error(enc + " in a non-video section");
    ParameterSets ps;
    auto take = [&](const char* key, std::vector<Bytes>& dst) -> Status {
      auto it = fmtp.find(key);
      if (it == fmtp.end()) return Status::ok();
      auto list = splitBase64(it->second);
      if (!list) return Status::error(std::string(key) + ": " + list.message());
      dst = std::move(*list);
      return Status::ok();
    };
    if (t.codec == Codec::kH264) {
      if (Status s = take("sprop-parameter-sets", ps.sps); !s) return s;
      // The single list holds SPS and PPS in any order (RFC 6184 §8.1).
      std::vector<Bytes> all = std::move(ps.sps);
      ps.sps.clear();
      for (auto& n : all) {
        uint8_t type = h264::nalType(n[0]);
        if (type == h264::kNalSps)
          ps.sps.push_back(n);
        else if (type == h264::kNalPps)
          ps.pps.push_back(n);
      }
      if (auto it = fmtp.find("packetization-mode"); it != fmtp.end() && it->second == "2")
        return Status::error("H.264 interleaved mode (packetization-mode=2) is not supported");
    } else {
      if (Status s = take("sprop-vps", ps.vps); !s) return s;
      if (Status s = take("sprop-sps", ps.sps); !s) return s;
      if (Status s = take("sprop-pps", ps.pps); !s) return s;
      if (intParam(fmtp, "sprop-max-don-diff", 0) > 0)
        return Status::error("H.265 with DONL fields (sprop-max-don-diff > 0) is not supported");
    }
    if (!ps.sps.empty() && !ps.pps.empty()) {
      auto track = videoTrackFromParameterSets(t.codec, ps);
      if (track) t.video = *track;
    }
    return t;
  }
  if (t.kind != MediaKind::kAudio) return Status::error(enc + " in a non-audio section");
  if (enc == "MPEG4-GENERIC") {
    t.codec = Codec::kAAC;
    auto mode = fmtp.find("mode");
    if (mode != fmtp.end() && upper(mode->second) != "AAC-HBR" && upper(mode->second) != "AAC-LBR")
      return Status::error("mpeg4-generic mode '" + mode->second + "' is not supported");
    t.aac.sizeLength = intParam(fmtp, "sizelength", 13);
    t.aac.indexLength = intParam(fmtp, "indexlength", 3);
    t.aac.indexDeltaLength = intParam(fmtp, "indexdeltalength", 3);
    if (t.aac.sizeLength < 1 || t.aac.sizeLength > 16 || t.aac.indexLength < 0 ||
        t.aac.indexLength > 8 || t.aac.indexDeltaLength < 0 || t.aac.indexDeltaLength > 8)
      return Status::error("mpeg4-generic: bad AU-header field sizes");
    auto cfg = fmtp.find("config");
    if (cfg == fmtp.end()) return Status::error("mpeg4-generic without config=");
    auto asc = hexDecode(cfg->second);
    if (!asc) return Status::error("mpeg4-generic config: " + asc.message());
    auto track = audioTrackFromConfig(Codec::kAAC, BufferRef::copyOf(asc->data(), asc->size()));
    if (!track) return Status::error("mpeg4-generic config: " + track.message());
    t.audio = *track;
    return t;
  }
  if (enc == "PCMU" || enc == "PCMA") {
    t.codec = enc == "PCMU" ? Codec::kG711U : Codec::kG711A;
  } else if (enc == "OPUS") {
    t.codec = Codec::kOpus;
  } else {
    return Status::error("unsupported audio encoding '" + map.encoding + "'");
  }
  auto track = audioTrackFromConfig(t.codec, {});
  if (track) t.audio = *track;
  return t;
}

}  // namespace xl::rtp
