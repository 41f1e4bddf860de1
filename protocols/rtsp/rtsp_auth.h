// HTTP-style authentication for RTSP (RFC 2326 §D.2 borrows RFC 2617): Basic (RFC 7617) and
// Digest with MD5 (RFC 2617 §3.2, RFC 7616), for both sides.
//
// Server: parseAuthorization() on the request's Authorization header; the digest response is
// checked against a password the access plugin knows with digestMatches() (the plain password
// never travels); challenge() builds the WWW-Authenticate values of a 401.
// Client (the camera pull client): parseChallenge() on a 401's WWW-Authenticate values, then
// authorizationFor() builds the Authorization header of the retried request:
//
//   auto ch = rtsp::parseChallenge(resp.headers("WWW-Authenticate"));   // prefers Digest
//   req.set("Authorization", rtsp::authorizationFor(*ch, user, pass, "DESCRIBE", url));
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "xueliang/status.h"

namespace xl::rtsp {

// Lower-case hex MD5 of `data`.
std::string md5Hex(std::string_view data);

// RFC 2617 §3.2.2.1-3.2.2.3 (algorithm MD5; qop "auth" when qop is non-empty, else RFC 2069).
std::string digestResponse(std::string_view user, std::string_view realm, std::string_view password,
                           std::string_view method, std::string_view uri, std::string_view nonce,
                           std::string_view nc = {}, std::string_view cnonce = {},
                           std::string_view qop = {});

struct Authorization {
  enum class Scheme { kBasic, kDigest } scheme = Scheme::kBasic;
  std::string user;
  std::string password;  // Basic only
  // Digest parameters (§3.2.2).
  std::string realm, nonce, uri, response, algorithm, qop, nc, cnonce, opaque;
};

// Parses an Authorization header value; fails on unknown schemes, bad base64 and Digest values
// missing username, realm, nonce, uri or response.
Result<Authorization> parseAuthorization(std::string_view value);

// True when a Digest authorization's response is right for `password` and `method` (the
// request's method: RTSP Digest covers it, §3.2.2.3).
bool digestMatches(const Authorization& a, std::string_view password, std::string_view method);

// WWW-Authenticate values for a 401: Digest first (preferred), then Basic.
std::vector<std::string> challenge(std::string_view realm, std::string_view nonce);

struct Challenge {
  enum class Scheme { kBasic, kDigest } scheme = Scheme::kBasic;
  std::string realm, nonce, opaque, algorithm, qop;  // qop: "auth" when offered, else empty
};
// Picks Digest (MD5) over Basic among the values of a 401's WWW-Authenticate headers.
Result<Challenge> parseChallenge(const std::vector<std::string>& values);
// The Authorization header value answering `ch` for one request (nc "00000001" with qop).
std::string authorizationFor(const Challenge& ch, std::string_view user, std::string_view password,
                             std::string_view method, std::string_view uri);

}  // namespace xl::rtsp
