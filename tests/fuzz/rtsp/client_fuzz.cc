// Fuzzes what the RTSP pull client reads from cameras and configuration: camera URLs, Session and
// Transport values of SETUP replies, control URL resolution, and whole replies run through the
// message parser, the challenge parser and the SDP track reader, as the client does.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rtp/sdp.h"
#include "rtp/sdp_media.h"
#include "rtsp/rtsp_auth.h"
#include "rtsp/rtsp_client_wire.h"
#include "rtsp/rtsp_message.h"

using namespace xl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)rtsp::parseCameraUrl(text);
  (void)rtsp::parseSessionHeader(text);
  (void)rtsp::parseTransportReply(text);
  (void)rtsp::resolveControl("rtsp://10.0.0.2:554/cam/", text.substr(0, 512));

  rtsp::RtspParser parser;
  (void)parser.feed(
      data, size,
      [](rtsp::RtspMessage&& m) {
        (void)rtsp::parseSessionHeader(m.header("Session"));
        (void)rtsp::parseTransportReply(m.header("Transport"));
        std::vector<std::string> challenges;
        for (auto& [k, v] : m.headers) {
          if (k == "WWW-Authenticate") challenges.push_back(v);
        }
        if (auto ch = rtsp::parseChallenge(challenges))
          (void)rtsp::authorizationFor(*ch, "user", "pass", "DESCRIBE", "rtsp://h/cam");
        if (auto sdp = rtp::parseSdp(m.body)) {
          for (const auto& media : sdp->media) (void)rtp::trackFromMedia(media);
        }
        return Status::ok();
      },
      [](uint8_t, const uint8_t*, size_t) { return Status::ok(); });
  return 0;
}
