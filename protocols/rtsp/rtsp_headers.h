// RTSP request targets and header values: rtsp:// URLs naming {app}/{stream}[/trackID=N]
// (RFC 2326 §3.2), the Transport header (§12.39) and the Session header (§12.37).
#pragma once

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
  bool multicast = false;  // "multicast" (we serve unicast only)
  int interleaved[2] = {-1, -1};
  int clientPort[2] = {-1, -1};
  std::string mode;  // "PLAY" / "RECORD" / empty
};

// Every transport of the comma-separated list, in the client's order of preference. Unknown
// parameters are ignored; specs with a profile other than RTP/AVP[/TCP|/UDP] are skipped.
Result<std::vector<TransportSpec>> parseTransport(std::string_view header);

// "12345678;timeout=60" -> "12345678".
std::string_view sessionId(std::string_view header);

}  // namespace xl::rtsp
