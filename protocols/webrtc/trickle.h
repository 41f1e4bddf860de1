// Trickle ICE for WHIP and WHEP resources (RFC 9725 §4.3.1, RFC 8840 §9): the client PATCHes
// an application/trickle-ice-sdpfrag body with its ICE credentials, candidates and
// end-of-candidates. We are an ICE-lite server: the browser's checks reach us whatever it
// trickles, so candidates are parsed (malformed bodies are refused) and otherwise not needed.
// A fragment with new credentials asks for an ICE restart, which is not implemented (501).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "xueliang/status.h"

namespace xl::webrtc {

inline constexpr std::string_view kTrickleContentType = "application/trickle-ice-sdpfrag";

struct TrickleFragment {
  std::string ufrag;  // a=ice-ufrag, empty if absent
  std::string pwd;    // a=ice-pwd
  std::vector<std::string> mids;
  std::vector<std::string> candidates;  // a=candidate values
  bool endOfCandidates = false;
};

struct TrickleLimits {
  size_t maxBytes = 16 * 1024;
  size_t maxLines = 256;
};

// Parses an SDP fragment (RFC 8840 §9: "a=" and "m=" lines, CRLF or LF). Every line must be
// "<letter>=<value>"; a=candidate values must have the RFC 8839 §5.1 fields.
Result<TrickleFragment> parseTrickleFragment(std::string_view body, const TrickleLimits& = {});

// What a PATCH on a session resource is answered with.
struct TrickleReply {
  int status = 204;
  std::string reason;  // for errors
};

// `etag` is the resource's entity tag as sent in the 201 (quoted); `remoteUfrag`/`remotePwd`
// the client's current ICE credentials from its offer.
TrickleReply answerTricklePatch(std::string_view contentType, std::string_view ifMatch,
                                std::string_view body, std::string_view etag,
                                std::string_view remoteUfrag, std::string_view remotePwd);

}  // namespace xl::webrtc
