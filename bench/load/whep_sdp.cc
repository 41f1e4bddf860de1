#include "whep_sdp.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>

#include "rtp/sdp.h"

namespace xlload {
namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

const std::string* mediaOrSession(const xl::rtp::SdpMedia& m, const xl::rtp::SessionDescription& s,
                                  std::string_view name) {
  if (const std::string* v = m.attribute(name)) return v;
  return s.attribute(name);
}

// A numeric IPv4 or IPv6 address and a port (network order) as a socket address.
bool ipAddress(const char* text, uint16_t port, sockaddr_storage& out, socklen_t& len) {
  out = {};
  auto* a4 = reinterpret_cast<sockaddr_in*>(&out);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET, text, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = port;
    len = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, text, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = port;
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// Whether two socket addresses name the same host (ports aside).
bool sameHost(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET)
    return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
  return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                     &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr, 16) == 0;
}

// "a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ..."
bool parseCandidate(const std::string& v, sockaddr_storage& out, socklen_t& len) {
  char foundation[64], transport[16], addr[64], typ[8], type[16];
  unsigned component = 0, port = 0;
  unsigned long priority = 0;
  if (std::sscanf(v.c_str(), "%63s %u %15s %lu %63s %u %7s %15s", foundation, &component, transport,
                  &priority, addr, &port, typ, type) != 8)
    return false;
  if (component != 1 || lower(transport) != "udp" || port == 0 || port > 65535) return false;
  return ipAddress(addr, htons(static_cast<uint16_t>(port)), out, len);
}

bool inactive(const xl::rtp::SdpMedia& m) {
  return m.port == 0 || m.attribute("inactive") || m.attribute("recvonly") || m.formats.empty();
}

}  // namespace

std::string makeWhepOffer(const WhepOffer& o) {
  std::string s =
      "v=0\r\n"
      "o=xl-load 1 2 IN IP4 127.0.0.1\r\n"
      "s=-\r\n"
      "t=0 0\r\n"
      "a=group:BUNDLE 0 1\r\n"
      "a=fingerprint:sha-256 " +
      o.fingerprint +
      "\r\n"
      "a=ice-ufrag:" +
      o.ufrag + "\r\na=ice-pwd:" + o.pwd + "\r\n";
  auto common = [&](const char* mid) {
    return std::string("c=IN IP4 0.0.0.0\r\na=mid:") + mid +
           "\r\na=setup:actpass\r\na=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n";
  };
  s += "m=video 9 UDP/TLS/RTP/SAVPF 102 106\r\n" + common("0");
  s += "a=rtpmap:102 H264/90000\r\n"
       "a=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\n"
       "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
       "a=rtpmap:106 H264/90000\r\n"
       "a=rtcp-fb:106 nack\r\na=rtcp-fb:106 nack pli\r\n"
       "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032\r\n";
  s += "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\n" + common("1");
  s += "a=rtpmap:111 opus/48000/2\r\n"
       "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
       "a=rtpmap:0 PCMU/8000\r\n"
       "a=rtpmap:8 PCMA/8000\r\n";
  return s;
}

std::string parseWhepAnswer(std::string_view sdp, const std::string& preferHost, WhepAnswer& out) {
  sockaddr_storage prefer{};
  socklen_t preferLen = 0;
  if (!preferHost.empty() && !ipAddress(preferHost.c_str(), 0, prefer, preferLen))
    return "whep: bad candidate address to prefer: " + preferHost;
  // How well a candidate fits: the preferred host, else IPv4 before IPv6 (the first of each).
  auto rank = [&](const sockaddr_storage& c) {
    return preferLen && sameHost(c, prefer) ? 2 : c.ss_family == AF_INET ? 1 : 0;
  };
  auto parsed = xl::rtp::parseSdp(sdp);
  if (!parsed) return "whep: answer is not SDP: " + parsed.message();
  const xl::rtp::SessionDescription& s = *parsed;
  if (s.media.empty()) return "whep: answer has no m= section";
  bool haveCandidate = false;
  out = WhepAnswer{};
  for (const xl::rtp::SdpMedia& m : s.media) {
    const std::string* ufrag = mediaOrSession(m, s, "ice-ufrag");
    const std::string* pwd = mediaOrSession(m, s, "ice-pwd");
    const std::string* fp = mediaOrSession(m, s, "fingerprint");
    if (ufrag && out.ufrag.empty()) out.ufrag = *ufrag;
    if (pwd && out.pwd.empty()) out.pwd = *pwd;
    if (fp && out.fingerprint.empty()) {
      if (lower(fp->substr(0, 8)) != "sha-256 ") return "whep: answer fingerprint is not sha-256";
      out.fingerprint = fp->substr(8);
      for (char& c : out.fingerprint)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    for (const auto& a : m.attributes) {
      if (a.name != "candidate") continue;
      sockaddr_storage c{};
      socklen_t len = 0;
      if (!parseCandidate(a.value, c, len)) continue;
      if (!haveCandidate || rank(c) > rank(out.candidate)) {
        out.candidate = c;
        out.candidateLen = len;
        out.preferred = rank(c) == 2;
      }
      haveCandidate = true;
    }
    if (inactive(m)) continue;
    int pt = std::atoi(m.formats[0].c_str());
    if (pt < 0 || pt > 127) return "whep: bad payload type in the answer";
    if (m.media == "video" && out.videoPt < 0) {
      out.videoPt = pt;
      for (const auto& a : m.attributes)
        if (a.name == "rtpmap" && std::atoi(a.value.c_str()) == pt)
          out.videoH265 = lower(a.value).find("h265") != std::string::npos;
    } else if (m.media == "audio" && out.audioPt < 0) {
      out.audioPt = pt;
    }
  }
  if (out.ufrag.empty() || out.pwd.empty()) return "whep: answer lacks a=ice-ufrag / a=ice-pwd";
  if (out.fingerprint.empty()) return "whep: answer lacks a=fingerprint";
  if (!haveCandidate) return "whep: answer has no UDP candidate";
  if (out.videoPt < 0 && out.audioPt < 0) return "whep: answer sends no media";
  return "";
}

}  // namespace xlload
