// The SDP a WHEP player sends and the parts of the answer it needs (RFC 8829 JSEP; WHEP draft
// §4.2): a recvonly BUNDLE offer with H.264 video (Baseline and High, packetization-mode=1) and
// Opus/G.711 audio, and from the answer the ICE credentials, the sha-256 fingerprint, a UDP host
// candidate (IPv4 or IPv6) and the payload types per m= section.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <string_view>

namespace xlload {

struct WhepOffer {
  std::string ufrag, pwd;
  std::string fingerprint;  // sha-256 of our DTLS certificate, "AB:CD:..."
};

std::string makeWhepOffer(const WhepOffer& o);

struct WhepAnswer {
  std::string ufrag, pwd, fingerprint;
  sockaddr_storage candidate{};  // the UDP host candidate to send to (AF_INET or AF_INET6)
  socklen_t candidateLen = 0;
  bool preferred = false;  // the candidate is at parseWhepAnswer's `preferHost`
  int videoPt = -1;        // -1: the section is inactive or missing
  int audioPt = -1;
  bool videoH265 = false;
};

// Parses the answer; `preferHost` (a numeric IPv4 or IPv6 address, "" for none) picks the
// candidate with that address when there is one, else the first IPv4 one, else the first IPv6
// one. Returns "" or why the answer is unusable.
std::string parseWhepAnswer(std::string_view sdp, const std::string& preferHost, WhepAnswer& out);

}  // namespace xlload
