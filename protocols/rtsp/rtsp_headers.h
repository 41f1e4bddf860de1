// RTSP request targets and header values: rtsp:// URLs naming {app}/{stream}[/trackID=N]
// (RFC 2326 §3.2), the Transport header (§12.39) and the Session header (§12.37).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "xueliang/status.h"

namespace xl::rtsp {

struct RtspTarget {
  std::string base;  // "rtsp://host:port/app/stream" as the client wrote it, no query or track
  std::string app;
  std::string stream;
  int track = -1;     // from a trailing "trackID=N" segment
  std::string query;  // still encoded
  std::string name() const { return app + "/" + stream; }
};

// "rtsp://host[:port]/app/stream[/trackID=N][?query]" (or an absolute path). Clients that append
// the control to a URL with a query ("...?token=x/trackID=0") are understood too.
Result<RtspTarget> parseTarget(std::string_view uri);

struct TransportSpec {
  bool tcp = false;        // RTP/AVP/TCP
  bool multicast = false;  // "multicast": the server picks the group (destination, port, ttl)
  int interleaved[2] = {-1, -1};
  int clientPort[2] = {-1, -1};
  int port[2] = {-1, -1};   // multicast "port=" (a client's wish; the server answers its own)
  std::string destination;  // multicast group a client asked for (ignored)
  int ttl = -1;
  std::string mode;  // "PLAY" / "RECORD" / empty
};

// Every transport of the comma-separated list, in the client's order of preference. Unknown
// parameters are ignored; specs with a profile other than RTP/AVP[/TCP|/UDP] are skipped.
Result<std::vector<TransportSpec>> parseTransport(std::string_view header);

// The SETUP answer for a multicast group (§12.39): "RTP/AVP;multicast;destination=G;port=P-Q;
// ttl=T". The source is the RTSP server, so no "source=" is needed.
std::string formatMulticastTransport(std::string_view group, int rtpPort, int ttl);

// "[rtsp] multicast_range": "239.255.42.0/24" (or one address, a /32) -> first address (host
// byte order) and count. Only IPv4 multicast (224.0.0.0/4) outside 224.0.0.0/24 (link-local
// control) is accepted.
struct MulticastRange {
  uint32_t first = 0;
  uint32_t count = 0;
  bool operator==(const MulticastRange&) const = default;
};
Result<MulticastRange> parseMulticastRange(std::string_view text);
std::string ipv4String(uint32_t hostOrder);

// "12345678;timeout=60" -> "12345678".
std::string_view sessionId(std::string_view header);

}  // namespace xl::rtsp
