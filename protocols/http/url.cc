// Request-target helpers, RFC 3986 (percent-encoding 2.1, path segments 3.3).
#include "http/url.h"

namespace xl::http {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isUnreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

Result<std::string> percentDecode(std::string_view s, bool plusAsSpace) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 2 < s.size() ? hexValue(s[i + 1]) : -1;
      int lo = hi >= 0 ? hexValue(s[i + 2]) : -1;
      if (lo < 0) return Status::error("url: malformed percent escape");
      c = static_cast<char>(hi << 4 | lo);
      i += 2;
    } else if (c == '+' && plusAsSpace) {
      c = ' ';
    }
    if (c == '\0') return Status::error("url: NUL byte");
    out.push_back(c);
  }
  return out;
}

std::string percentEncode(std::string_view s, bool keepSlash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (isUnreserved(c) || (keepSlash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<std::vector<std::string>> decodePathSegments(std::string_view raw) {
  if (raw.empty() || raw[0] != '/') return Status::error("url: path must start with '/'");
  std::vector<std::string> segments;
  while (!raw.empty()) {
    raw.remove_prefix(1);  // the '/'
    size_t slash = raw.find('/');
    std::string_view seg = raw.substr(0, slash);
    raw = slash == std::string_view::npos ? std::string_view() : raw.substr(slash);
    if (seg.empty()) continue;
    Result<std::string> decoded = percentDecode(seg);
    if (!decoded) return decoded.status();
    // Checked after decoding: "%2e%2e" is ".." too (RFC 3986 2.3 equivalence).
    if (*decoded == "." || *decoded == "..") return Status::error("url: dot segment in path");
    if (decoded->find('/') != std::string::npos) return Status::error("url: encoded '/'");
    segments.push_back(std::move(*decoded));
  }
  return segments;
}

Result<std::string> decodePath(std::string_view raw) {
  Result<std::vector<std::string>> segments = decodePathSegments(raw);
  if (!segments) return segments.status();
  std::string out;
  for (const auto& s : *segments) out += "/" + s;
  return out.empty() ? std::string("/") : out;
}

Result<std::vector<QueryParam>> parseQuery(std::string_view query) {
  std::vector<QueryParam> params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    Result<std::string> key = percentDecode(pair.substr(0, eq), true);
    if (!key) return key.status();
    Result<std::string> value = percentDecode(
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!value) return value.status();
    params.push_back({std::move(*key), std::move(*value)});
  }
  return params;
}

std::string_view queryValue(const std::vector<QueryParam>& params, std::string_view key) {
  for (const auto& p : params)
    if (p.key == key) return p.value;
  return {};
}

bool hasQueryKey(const std::vector<QueryParam>& params, std::string_view key) {
  for (const auto& p : params)
    if (p.key == key) return true;
  return false;
}

Result<StreamPath> parseStreamPath(std::string_view raw) {
  Result<std::vector<std::string>> segments = decodePathSegments(raw);
  if (!segments) return segments.status();
  if (segments->size() != 2) return Status::error("url: expected /{app}/{stream}");
  StreamPath p;
  p.app = std::move((*segments)[0]);
  std::string& last = (*segments)[1];
  size_t dot = last.rfind('.');
  if (dot != std::string::npos && dot > 0) {
    p.extension = last.substr(dot + 1);
    last.resize(dot);
  }
  p.stream = std::move(last);
  // Names become file and registry names (recorder): no hidden or empty ones.
  if (p.stream.empty() || p.stream[0] == '.' || p.app[0] == '.')
    return Status::error("url: invalid stream name");
  return p;
}

}  // namespace xl::http
