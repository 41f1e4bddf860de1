// Byte-level pieces of the RTSP pull client (RFC 2326), kept free of sockets so unit tests and a
// fuzzer exercise them alone: camera URLs with credentials, request formatting, the Session
// header of a reply (§12.37), control URL resolution (§C.1.1) and the Transport of a SETUP reply.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xueliang/status.h"

namespace xl::rtsp {

// "rtsp://user:pass@host:port/path?query": credentials are percent-decoded and removed from
// `url`, which is what requests carry.
struct CameraUrl {
  std::string url;  // "rtsp://host:port/path?query", no user-info
  std::string host;
  int port = 554;
  std::string user;
  std::string password;
};
Result<CameraUrl> parseCameraUrl(std::string_view text);

// "METHOD uri RTSP/1.0\r\nCSeq: n\r\nUser-Agent: ...\r\n<headers>\r\n".
std::string formatRequest(std::string_view method, std::string_view uri, int64_t cseq,
                          const std::vector<std::pair<std::string, std::string>>& headers);

struct SessionHeader {
  std::string id;
  int timeoutSec = 60;  // §12.37 default
};
// "12345678;timeout=30"; fails on an empty id or a bad timeout.
Result<SessionHeader> parseSessionHeader(std::string_view value);

// A track's control attribute against the presentation's base URL (Content-Base, then
// Content-Location, then the request URL): absolute controls are kept, "*" means the base.
std::string resolveControl(std::string_view base, std::string_view control);

// What the server chose in a SETUP reply's Transport header.
struct TransportReply {
  bool tcp = false;
  int interleaved[2] = {-1, -1};
  int serverPort[2] = {-1, -1};
  uint32_t ssrc = 0;
  bool hasSsrc = false;
};
Result<TransportReply> parseTransportReply(std::string_view value);

}  // namespace xl::rtsp
