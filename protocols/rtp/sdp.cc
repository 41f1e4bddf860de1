#include "rtp/sdp.h"

#include <algorithm>
#include <charconv>

namespace xl::rtp {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

template <typename T>
bool parseNumber(std::string_view s, T& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

const std::string* findAttribute(const std::vector<SdpAttribute>& list, std::string_view name) {
  for (auto& a : list) {
    if (a.name == name) return &a.value;
  }
  return nullptr;
}

SdpAttribute parseAttribute(std::string_view v) {
  auto colon = v.find(':');
  if (colon == std::string_view::npos) return {std::string(v), {}};
  return {std::string(v.substr(0, colon)), std::string(trim(v.substr(colon + 1)))};
}

// §5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ...
Result<SdpMedia> parseMediaLine(std::string_view v) {
  SdpMedia m;
  std::vector<std::string_view> parts;
  while (!v.empty()) {
    auto sp = v.find(' ');
    std::string_view part = v.substr(0, sp);
    if (!part.empty()) parts.push_back(part);
    if (sp == std::string_view::npos) break;
    v.remove_prefix(sp + 1);
  }
  if (parts.size() < 3) return Status::error("SDP m= line has fewer than 3 fields");
  m.media = std::string(parts[0]);
  std::string_view port = parts[1];
  if (auto slash = port.find('/'); slash != std::string_view::npos) {
    if (!parseNumber(port.substr(slash + 1), m.portCount) || m.portCount < 1)
      return Status::error("SDP m= line: bad port count");
    port = port.substr(0, slash);
  }
  if (!parseNumber(port, m.port) || m.port < 0 || m.port > 65535)
    return Status::error("SDP m= line: bad port");
  m.proto = std::string(parts[2]);
  for (size_t i = 3; i < parts.size(); ++i) m.formats.emplace_back(parts[i]);
  return m;
}

void line(std::string& out, char type, std::string_view value) {
  out += type;
  out += '=';
  out += value;
  out += "\r\n";
}

void writeAttributes(std::string& out, const std::vector<SdpAttribute>& attrs) {
  for (auto& a : attrs) {
    out += "a=";
    out += a.name;
    if (!a.value.empty()) {
      out += ':';
      out += a.value;
    }
    out += "\r\n";
  }
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

const std::string* SdpMedia::attribute(std::string_view name) const {
  return findAttribute(attributes, name);
}

const std::string* SessionDescription::attribute(std::string_view name) const {
  return findAttribute(attributes, name);
}

Result<SessionDescription> parseSdp(std::string_view text, const SdpLimits& limits) {
  if (text.size() > limits.maxBytes) return Status::error("SDP too large");
  SessionDescription sdp;
  bool first = true;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    std::string_view l = trim(raw);
    if (l.empty()) continue;
    if (l.size() < 2 || l[1] != '=' || l[0] < 'a' || l[0] > 'z')
      return Status::error("SDP line is not <type>=<value>");
    char type = l[0];
    std::string_view v = l.substr(2);
    if (first) {
      if (type != 'v' || v != "0") return Status::error("SDP must start with v=0");
      first = false;
      continue;
    }
    SdpMedia* m = sdp.media.empty() ? nullptr : &sdp.media.back();
    switch (type) {
      case 'm': {
        if (sdp.media.size() >= limits.maxMedia) return Status::error("too many SDP media");
        auto media = parseMediaLine(v);
        if (!media) return media.status();
        sdp.media.push_back(std::move(*media));
        break;
      }
      case 'a': {
        auto& list = m ? m->attributes : sdp.attributes;
        if (list.size() >= limits.maxAttributes) return Status::error("too many SDP attributes");
        list.push_back(parseAttribute(v));
        break;
      }
      case 'c':
        (m ? m->connection : sdp.connection) = std::string(v);
        break;
      case 'b':
        if (m && m->bandwidths.size() < 16) m->bandwidths.emplace_back(v);
        break;
      case 'o':
        if (!m) sdp.origin = std::string(v);
        break;
      case 's':
        if (!m) sdp.name = std::string(v);
        break;
      case 'i':
        if (!m) sdp.info = std::string(v);
        break;
      case 't':
        if (!m) sdp.timing = std::string(v);
        break;
      default:  // u, e, p, r, z, k, v: not needed to play
        break;
    }
  }
  if (first) return Status::error("empty SDP");
  return sdp;
}

std::string writeSdp(const SessionDescription& sdp) {
  std::string out;
  line(out, 'v', "0");
  line(out, 'o', sdp.origin);
  line(out, 's', sdp.name.empty() ? "-" : sdp.name);
  if (!sdp.info.empty()) line(out, 'i', sdp.info);
  if (!sdp.connection.empty()) line(out, 'c', sdp.connection);
  line(out, 't', sdp.timing);
  writeAttributes(out, sdp.attributes);
  for (const SdpMedia& m : sdp.media) {
    std::string ml = m.media;
    ml += ' ';
    ml += std::to_string(m.port);
    if (m.portCount > 1) {
      ml += '/';
      ml += std::to_string(m.portCount);
    }
    ml += ' ';
    ml += m.proto;
    for (auto& f : m.formats) {
      ml += ' ';
      ml += f;
    }
    line(out, 'm', ml);
    if (!m.connection.empty()) line(out, 'c', m.connection);
    for (auto& b : m.bandwidths) line(out, 'b', b);
    writeAttributes(out, m.attributes);
  }
  return out;
}

Result<RtpMap> parseRtpMap(std::string_view v) {
  RtpMap r;
  auto sp = v.find(' ');
  if (sp == std::string_view::npos) return Status::error("rtpmap without an encoding");
  if (!parseNumber(v.substr(0, sp), r.payloadType) || r.payloadType < 0 || r.payloadType > 127)
    return Status::error("rtpmap: bad payload type");
  std::string_view enc = trim(v.substr(sp + 1));
  auto s1 = enc.find('/');
  if (s1 == std::string_view::npos) return Status::error("rtpmap without a clock rate");
  r.encoding = std::string(enc.substr(0, s1));
  std::string_view rest = enc.substr(s1 + 1);
  auto s2 = rest.find('/');
  if (!parseNumber(rest.substr(0, s2), r.clockRate) || r.clockRate == 0)
    return Status::error("rtpmap: bad clock rate");
  if (s2 != std::string_view::npos &&
      (!parseNumber(rest.substr(s2 + 1), r.channels) || r.channels < 0 || r.channels > 255))
    return Status::error("rtpmap: bad channel count");
  return r;
}

std::map<std::string, std::string> parseFmtp(std::string_view v) {
  std::map<std::string, std::string> out;
  auto sp = v.find(' ');
  v = sp == std::string_view::npos ? std::string_view() : v.substr(sp + 1);
  while (!v.empty()) {
    auto semi = v.find(';');
    std::string_view kv = trim(v.substr(0, semi));
    v.remove_prefix(semi == std::string_view::npos ? v.size() : semi + 1);
    auto eq = kv.find('=');
    if (kv.empty()) continue;
    std::string key(trim(kv.substr(0, eq)));
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out[key] = eq == std::string_view::npos ? std::string() : std::string(trim(kv.substr(eq + 1)));
  }
  return out;
}

std::string base64Encode(ByteSpan d) {
  std::string out;
  out.reserve((d.size() + 2) / 3 * 4);
  for (size_t i = 0; i < d.size(); i += 3) {
    uint32_t v = uint32_t(d[i]) << 16;
    if (i + 1 < d.size()) v |= uint32_t(d[i + 1]) << 8;
    if (i + 2 < d.size()) v |= d[i + 2];
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < d.size() ? kB64[(v >> 6) & 63] : '=';
    out += i + 2 < d.size() ? kB64[v & 63] : '=';
  }
  return out;
}

Result<Bytes> base64Decode(std::string_view s) {
  Bytes out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else if (c == '=') {
      ++pad;
      continue;
    } else {
      return Status::error("bad base64 character");
    }
    if (pad) return Status::error("base64 data after padding");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  if (pad > 2) return Status::error("bad base64 padding");
  return out;
}

std::string hexEncode(ByteSpan d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : d) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Result<Bytes> hexDecode(std::string_view s) {
  if (s.size() % 2) return Status::error("odd number of hex digits");
  Bytes out;
  for (size_t i = 0; i < s.size(); i += 2) {
    uint8_t v = 0;
    auto r = std::from_chars(s.data() + i, s.data() + i + 2, v, 16);
    if (r.ec != std::errc() || r.ptr != s.data() + i + 2) return Status::error("bad hex digit");
    out.push_back(v);
  }
  return out;
}

}  // namespace xl::rtp
