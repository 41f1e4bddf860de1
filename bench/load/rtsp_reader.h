// An RTSP client connection's input (RFC 2326 §6-7, §10.12), incrementally and bounded: responses
// (status line, headers, Content-Length body; at most 64 KiB) and "$ channel length" interleaved
// frames, whose first bytes are kept so the RTP header and first NAL unit can be read. Plus the
// parts of a DESCRIBE answer a player needs: each m= section's control URL and codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xlload {

class RtspReader {
 public:
  static constexpr size_t kPeek = 64;  // an RTP header, or a whole sender report + CNAME
  class Sink {
   public:
    virtual ~Sink() = default;
    // Return false to stop reading (the player gave up).
    virtual bool onResponse(int status, const std::string& head, const std::string& body) = 0;
    virtual void onFrameStart(uint8_t channel, size_t length) = 0;
    // The frame's first min(length, kPeek) bytes.
    virtual void onFrameEnd(uint8_t channel, const uint8_t* peek, size_t n) = 0;
  };

  explicit RtspReader(Sink& sink) : sink_(sink) {}
  // Returns "" or why the input is not RTSP (then stop feeding).
  std::string feed(const uint8_t* data, size_t n);

 private:
  size_t frameBytes(const uint8_t* p, size_t n);

  Sink& sink_;
  std::string text_;
  size_t headEnd_ = std::string::npos;  // where the head of the response in text_ ends
  int status_ = 0;
  size_t bodyLen_ = 0;
  bool inFrame_ = false;
  uint8_t head_[4] = {};
  size_t headHave_ = 0, left_ = 0;
  uint8_t peek_[kPeek] = {};
  size_t peekHave_ = 0;
};

// Value of header `name` (case-insensitive, without the colon) in a response head, or "".
std::string rtspHeader(const std::string& head, const std::string& name);

// The port pair of `key` ("server_port", "client_port") in a Transport header value (RFC 2326
// §12.39: "key=RTP-RTCP", or "key=RTP" meaning RTCP on RTP + 1); false when absent or not ports.
bool rtspTransportPorts(const std::string& transport, const std::string& key, int ports[2]);

struct RtspTrack {
  std::string control;
  bool video = false;
  bool h265 = false;
  uint32_t clockRate = 0;  // from a=rtpmap (0: none given)
};
std::vector<RtspTrack> parseRtspTracks(const std::string& sdp);

}  // namespace xlload
