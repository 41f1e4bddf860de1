#include "rtsp/rtsp_auth.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstdio>
#include <functional>
#include <optional>

#include "rtp/sdp.h"

namespace xl::rtsp {
namespace {

constexpr size_t kMaxHeader = 4096;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "Scheme rest": splits off the auth-scheme token.
std::pair<std::string_view, std::string_view> splitScheme(std::string_view v) {
  v = trim(v);
  size_t sp = v.find_first_of(" \t");
  if (sp == std::string_view::npos) return {v, {}};
  return {v.substr(0, sp), trim(v.substr(sp))};
}

// auth-param list (RFC 7235 §2.1): name=token or name="quoted string", comma separated.
Status parseParams(std::string_view s,
                   const std::function<void(std::string_view, std::string)>& fn) {
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) ++i;
    if (i >= s.size()) break;
    size_t eq = s.find('=', i);
    if (eq == std::string_view::npos) return Status::error("auth parameter without '='");
    std::string_view name = trim(s.substr(i, eq - i));
    if (name.empty()) return Status::error("empty auth parameter name");
    i = eq + 1;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '\\' && i < s.size()) {
          value += s[i++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          value += c;
        }
      }
      if (!closed) return Status::error("unterminated quoted string in auth parameter");
    } else {
      size_t end = s.find(',', i);
      if (end == std::string_view::npos) end = s.size();
      value = std::string(trim(s.substr(i, end - i)));
      i = end;
    }
    fn(name, std::move(value));
  }
  return Status::ok();
}

std::string quote(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string md5Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string digestResponse(std::string_view user, std::string_view realm, std::string_view password,
                           std::string_view method, std::string_view uri, std::string_view nonce,
                           std::string_view nc, std::string_view cnonce, std::string_view qop) {
  auto cat = [](std::initializer_list<std::string_view> parts) {
    std::string s;
    bool first = true;
    for (auto p : parts) {
      if (!first) s += ':';
      s += p;
      first = false;
    }
    return s;
  };
  const std::string ha1 = md5Hex(cat({user, realm, password}));
  const std::string ha2 = md5Hex(cat({method, uri}));
  if (qop.empty()) return md5Hex(cat({ha1, nonce, ha2}));
  return md5Hex(cat({ha1, nonce, nc, cnonce, qop, ha2}));
}

Result<Authorization> parseAuthorization(std::string_view value) {
  if (value.size() > kMaxHeader) return Status::error("Authorization header too long");
  auto [scheme, rest] = splitScheme(value);
  Authorization a;
  if (iequals(scheme, "Basic")) {
    auto decoded = rtp::base64Decode(rest);
    if (!decoded) return Status::error("Basic credentials: " + decoded.message());
    std::string text(decoded->begin(), decoded->end());
    size_t colon = text.find(':');
    if (colon == std::string::npos) return Status::error("Basic credentials without ':'");
    a.scheme = Authorization::Scheme::kBasic;
    a.user = text.substr(0, colon);
    a.password = text.substr(colon + 1);
    return a;
  }
  if (!iequals(scheme, "Digest"))
    return Status::error("unsupported authorization scheme '" + std::string(scheme) + "'");
  a.scheme = Authorization::Scheme::kDigest;
  Status s = parseParams(rest, [&](std::string_view name, std::string v) {
    if (iequals(name, "username"))
      a.user = std::move(v);
    else if (iequals(name, "realm"))
      a.realm = std::move(v);
    else if (iequals(name, "nonce"))
      a.nonce = std::move(v);
    else if (iequals(name, "uri"))
      a.uri = std::move(v);
    else if (iequals(name, "response"))
      a.response = std::move(v);
    else if (iequals(name, "algorithm"))
      a.algorithm = std::move(v);
    else if (iequals(name, "qop"))
      a.qop = std::move(v);
    else if (iequals(name, "nc"))
      a.nc = std::move(v);
    else if (iequals(name, "cnonce"))
      a.cnonce = std::move(v);
    else if (iequals(name, "opaque"))
      a.opaque = std::move(v);
  });
  if (!s) return Status::error("Digest credentials: " + s.message());
  if (a.user.empty() || a.realm.empty() || a.nonce.empty() || a.uri.empty() || a.response.empty())
    return Status::error("Digest credentials need username, realm, nonce, uri and response");
  if (!a.algorithm.empty() && !iequals(a.algorithm, "MD5"))
    return Status::error("unsupported Digest algorithm '" + a.algorithm + "'");
  if (!a.qop.empty() && (!iequals(a.qop, "auth") || a.nc.empty() || a.cnonce.empty()))
    return Status::error("Digest qop needs qop=auth with nc and cnonce");
  return a;
}

bool digestMatches(const Authorization& a, std::string_view password, std::string_view method) {
  if (a.scheme != Authorization::Scheme::kDigest) return false;
  std::string want =
      digestResponse(a.user, a.realm, password, method, a.uri, a.nonce, a.nc, a.cnonce, a.qop);
  if (want.size() != a.response.size()) return false;
  unsigned diff = 0;  // constant time: the response is a secret-derived value
  for (size_t i = 0; i < want.size(); ++i)
    diff |=
        static_cast<unsigned>(want[i] ^ std::tolower(static_cast<unsigned char>(a.response[i])));
  return diff == 0;
}

std::vector<std::string> challenge(std::string_view realm, std::string_view nonce) {
  return {"Digest realm=" + quote(realm) + ", nonce=" + quote(nonce) + ", algorithm=MD5",
          "Basic realm=" + quote(realm)};
}

Result<Challenge> parseChallenge(const std::vector<std::string>& values) {
  std::optional<Challenge> basic;
  for (const std::string& v : values) {
    if (v.size() > kMaxHeader) continue;
    auto [scheme, rest] = splitScheme(v);
    if (iequals(scheme, "Basic")) {
      Challenge c;
      c.scheme = Challenge::Scheme::kBasic;
      (void)parseParams(rest, [&](std::string_view n, std::string val) {
        if (iequals(n, "realm")) c.realm = std::move(val);
      });
      if (!basic) basic = c;
      continue;
    }
    if (!iequals(scheme, "Digest")) continue;
    Challenge c;
    c.scheme = Challenge::Scheme::kDigest;
    Status s = parseParams(rest, [&](std::string_view n, std::string val) {
      if (iequals(n, "realm"))
        c.realm = std::move(val);
      else if (iequals(n, "nonce"))
        c.nonce = std::move(val);
      else if (iequals(n, "opaque"))
        c.opaque = std::move(val);
      else if (iequals(n, "algorithm"))
        c.algorithm = std::move(val);
      else if (iequals(n, "qop"))
        c.qop = std::move(val);
    });
    if (!s || c.nonce.empty()) continue;
    if (!c.algorithm.empty() && !iequals(c.algorithm, "MD5")) continue;
    // qop is a list ("auth,auth-int"): we speak "auth" when offered.
    std::string offered = c.qop;
    c.qop.clear();
    for (size_t i = 0; i <= offered.size();) {
      size_t end = offered.find(',', i);
      if (end == std::string::npos) end = offered.size();
      if (iequals(trim(std::string_view(offered).substr(i, end - i)), "auth")) c.qop = "auth";
      i = end + 1;
    }
    return c;
  }
  if (basic) return *basic;
  return Status::error("no Basic or Digest (MD5) challenge in WWW-Authenticate");
}

std::string authorizationFor(const Challenge& ch, std::string_view user, std::string_view password,
                             std::string_view method, std::string_view uri) {
  if (ch.scheme == Challenge::Scheme::kBasic) {
    std::string plain = std::string(user) + ":" + std::string(password);
    return "Basic " +
           rtp::base64Encode({reinterpret_cast<const uint8_t*>(plain.data()), plain.size()});
  }
  std::string out = "Digest username=" + quote(user) + ", realm=" + quote(ch.realm) +
                    ", nonce=" + quote(ch.nonce) + ", uri=" + quote(uri);
  if (ch.qop.empty()) {
    out += ", response=" + quote(digestResponse(user, ch.realm, password, method, uri, ch.nonce));
  } else {
    const std::string nc = "00000001";
    const std::string cnonce = md5Hex(std::string(ch.nonce) + std::string(user)).substr(0, 16);
    out +=
        ", response=" +
        quote(digestResponse(user, ch.realm, password, method, uri, ch.nonce, nc, cnonce, "auth")) +
        ", qop=auth, nc=" + nc + ", cnonce=" + quote(cnonce);
  }
  if (!ch.opaque.empty()) out += ", opaque=" + quote(ch.opaque);
  return out + ", algorithm=MD5";
}

}  // namespace xl::rtsp
