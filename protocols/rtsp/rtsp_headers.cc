#include "rtsp/rtsp_headers.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "http/url.h"

namespace xl::rtsp {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool parseTrackSegment(std::string_view s, int& track) {
  constexpr std::string_view kPrefix = "trackID=";
  if (!s.starts_with(kPrefix)) return false;
  s.remove_prefix(kPrefix.size());
  auto r = std::from_chars(s.data(), s.data() + s.size(), track);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && track >= 0 && track < 16;
}

// "a-b" or "a" into two ints in [0, max].
bool parseRange(std::string_view v, int out[2], int max) {
  auto dash = v.find('-');
  std::string_view a = v.substr(0, dash);
  auto r = std::from_chars(a.data(), a.data() + a.size(), out[0]);
  if (r.ec != std::errc() || r.ptr != a.data() + a.size() || out[0] < 0 || out[0] > max)
    return false;
  if (dash == std::string_view::npos) {
    out[1] = out[0] + 1;
    return out[1] <= max;
  }
  std::string_view b = v.substr(dash + 1);
  r = std::from_chars(b.data(), b.data() + b.size(), out[1]);
  return r.ec == std::errc() && r.ptr == b.data() + b.size() && out[1] >= 0 && out[1] <= max;
}

}  // namespace

Result<RtspTarget> parseTarget(std::string_view uri) {
  RtspTarget t;
  std::string_view prefix;
  std::string_view path = uri;
  if (uri.size() > 7 && iequals(uri.substr(0, 7), "rtsp://")) {
    auto slash = uri.find('/', 7);
    if (slash == std::string_view::npos) return Status::error("URL without a path");
    prefix = uri.substr(0, slash);
    path = uri.substr(slash);
  }
  if (path.empty() || path[0] != '/') return Status::error("URL path must be absolute");
  if (auto q = path.find('?'); q != std::string_view::npos) {
    t.query = std::string(path.substr(q + 1));
    path = path.substr(0, q);
    // "?token=x/trackID=0": a control URL appended to a URL with a query.
    if (auto ctl = t.query.rfind("/trackID="); ctl != std::string::npos) {
      if (!parseTrackSegment(std::string_view(t.query).substr(ctl + 1), t.track))
        return Status::error("bad track in URL");
      t.query.resize(ctl);
    }
  }
  auto segments = http::decodePathSegments(path);
  if (!segments) return Status::error("URL path: " + segments.message());
  auto& seg = *segments;
  if (!seg.empty() && t.track < 0 && parseTrackSegment(seg.back(), t.track)) {
    seg.pop_back();
    path = path.substr(0, path.rfind('/'));
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (seg.size() != 2) return Status::error("URL must name {app}/{stream}");
  for (auto& s : seg) {
    if (s.empty() || s.size() > 256) return Status::error("bad stream name");
  }
  t.app = seg[0];
  t.stream = seg[1];
  t.base = std::string(prefix) + std::string(path);
  return t;
}

Result<std::vector<TransportSpec>> parseTransport(std::string_view header) {
  std::vector<TransportSpec> out;
  if (header.size() > 4096) return Status::error("Transport header too long");
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view spec = trim(header.substr(0, comma));
    header.remove_prefix(comma == std::string_view::npos ? header.size() : comma + 1);
    TransportSpec t;
    bool first = true, known = false;
    while (!spec.empty()) {
      auto semi = spec.find(';');
      std::string_view p = trim(spec.substr(0, semi));
      spec.remove_prefix(semi == std::string_view::npos ? spec.size() : semi + 1);
      auto eq = p.find('=');
      std::string_view key = p.substr(0, eq);
      std::string_view val = eq == std::string_view::npos ? "" : trim(p.substr(eq + 1));
      if (first) {  // transport-protocol/profile[/lower-transport]
        first = false;
        known = iequals(p, "RTP/AVP") || iequals(p, "RTP/AVP/UDP") || iequals(p, "RTP/AVP/TCP");
        t.tcp = iequals(p, "RTP/AVP/TCP");
      } else if (iequals(key, "multicast")) {
        t.multicast = true;
      } else if (iequals(key, "interleaved")) {
        if (!parseRange(val, t.interleaved, 255)) return Status::error("bad interleaved range");
      } else if (iequals(key, "client_port")) {
        if (!parseRange(val, t.clientPort, 65535)) return Status::error("bad client_port range");
      } else if (iequals(key, "port")) {
        if (!parseRange(val, t.port, 65535)) return Status::error("bad port range");
      } else if (iequals(key, "ttl")) {
        auto r = std::from_chars(val.data(), val.data() + val.size(), t.ttl);
        if (r.ec != std::errc() || r.ptr != val.data() + val.size() || t.ttl < 0 || t.ttl > 255)
          return Status::error("bad ttl");
      } else if (iequals(key, "destination")) {
        if (val.size() > 255) return Status::error("destination too long");
        t.destination = std::string(val);
      } else if (iequals(key, "mode")) {
        std::string m(val);
        m.erase(std::remove(m.begin(), m.end(), '"'), m.end());
        std::transform(m.begin(), m.end(), m.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        t.mode = m;
      }
    }
    if (known) out.push_back(t);
  }
  return out;
}

std::string formatMulticastTransport(std::string_view group, int rtpPort, int ttl) {
  return "RTP/AVP;multicast;destination=" + std::string(group) +
         ";port=" + std::to_string(rtpPort) + "-" + std::to_string(rtpPort + 1) +
         ";ttl=" + std::to_string(ttl);
}

Result<MulticastRange> parseMulticastRange(std::string_view text) {
  text = trim(text);
  auto bad = [text](const char* why) {
    std::string m(text);
    m.insert(0, 1, '\'');
    m += "': ";
    m += why;
    return Status::error(m);
  };
  auto slash = text.find('/');
  std::string addr(text.substr(0, slash));
  int bits = 32;
  if (slash != std::string_view::npos) {
    std::string_view b = text.substr(slash + 1);
    auto r = std::from_chars(b.data(), b.data() + b.size(), bits);
    if (r.ec != std::errc() || r.ptr != b.data() + b.size() || bits < 4 || bits > 32)
      return bad("bad prefix length");
  }
  in_addr a{};
  if (addr.empty() || inet_pton(AF_INET, addr.c_str(), &a) != 1)
    return bad("not an IPv4 address or prefix");
  uint32_t host = ntohl(a.s_addr);
  if ((host >> 28) != 0xE) return bad("not a multicast address");
  uint64_t count = uint64_t{1} << (32 - bits);
  uint32_t first = bits == 32 ? host : host & ~static_cast<uint32_t>(count - 1);
  if (first < 0xE0000100u)  // 224.0.0.0/24: routing protocols, never forwarded
    return bad("overlaps 224.0.0.0/24");
  // Group i also uses ports base + 4i...: a huge prefix only needs its first groups.
  return MulticastRange{first, static_cast<uint32_t>(std::min<uint64_t>(count, 65536))};
}

std::string ipv4String(uint32_t hostOrder) {
  return std::to_string(hostOrder >> 24) + "." + std::to_string(hostOrder >> 16 & 255) + "." +
         std::to_string(hostOrder >> 8 & 255) + "." + std::to_string(hostOrder & 255);
}

std::string_view sessionId(std::string_view header) {
  return trim(header.substr(0, header.find(';')));
}

}  // namespace xl::rtsp
