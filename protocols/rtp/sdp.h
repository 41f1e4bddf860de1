// SDP (RFC 4566): a parsed session description and its writer, plus the helpers RTP carriage
// needs (rtpmap §6, fmtp §6, base64 for parameter sets, RFC 4648 §4).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "rtp/rtp_packet.h"
#include "xueliang/codec.h"
#include "xueliang/status.h"

namespace xl::rtp {

struct SdpAttribute {
  std::string name;
  std::string value;  // empty for property attributes ("a=recvonly")
};

struct SdpMedia {
  std::string media;  // "video", "audio", ...
  int port = 0;
  int portCount = 1;
  std::string proto = "RTP/AVP";
  std::vector<std::string> formats;  // payload types
  std::string connection;            // c= value, if the section has one
  std::vector<std::string> bandwidths;
  std::vector<SdpAttribute> attributes;

  // First value of attribute `name`, or nullptr.
  const std::string* attribute(std::string_view name) const;
};

struct SessionDescription {
  std::string origin = "- 0 0 IN IP4 127.0.0.1";
  std::string name = "-";
  std::string info;
  std::string connection;
  std::string timing = "0 0";
  std::vector<SdpAttribute> attributes;
  std::vector<SdpMedia> media;

  const std::string* attribute(std::string_view name) const;
};

struct SdpLimits {
  size_t maxBytes = 64 * 1024;
  size_t maxMedia = 16;
  size_t maxAttributes = 256;  // per section
};

// Lenient about line endings (CRLF or LF) and unknown line types, strict about structure:
// "v=0" first, well-formed "m=" lines, bounded sizes.
Result<SessionDescription> parseSdp(std::string_view text, const SdpLimits& limits = {});
// CRLF line endings, fields in the order §5 requires.
std::string writeSdp(const SessionDescription& sdp);

// a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]
struct RtpMap {
  int payloadType = -1;
  std::string encoding;  // as written ("H264", "MPEG4-GENERIC", ...)
  uint32_t clockRate = 0;
  int channels = 0;  // 0 when not given
};
Result<RtpMap> parseRtpMap(std::string_view value);
// "96 a=1; B=x" (the value of a=fmtp) -> {a: 1, b: x}: keys lower-cased, values as written.
std::map<std::string, std::string> parseFmtp(std::string_view value);

std::string base64Encode(ByteSpan data);
Result<Bytes> base64Decode(std::string_view text);
std::string hexEncode(ByteSpan data);
Result<Bytes> hexDecode(std::string_view text);

}  // namespace xl::rtp
