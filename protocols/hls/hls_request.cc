#include "hls/hls_request.h"

#include <charconv>

#include "http/url.h"

namespace xl::hls {
namespace {

std::string_view lastSegment(std::string_view p) {
  size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

Result<uint64_t> parseNumber(std::string_view s, const char* what) {
  uint64_t v = 0;
  if (s.empty() || s.size() > 19) return Status::error(std::string("bad ") + what);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size())
    return Status::error(std::string("bad ") + what);
  return v;
}

// "seg{N}.{ext}" -> N and the container of the extension; "seg{N}.{P}.{ext}" -> a part.
bool parseSegmentName(std::string_view name, uint64_t& msn, std::optional<uint32_t>& part,
                      Container& c) {
  if (!name.starts_with("seg")) return false;
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot <= 3) return false;
  std::string_view ext = name.substr(dot + 1);
  if (ext == "ts")
    c = Container::kTs;
  else if (ext == "m4s")
    c = Container::kFmp4;
  else
    return false;
  std::string_view nums = name.substr(3, dot - 3);
  size_t mid = nums.find('.');
  auto n = parseNumber(nums.substr(0, mid), "segment number");
  if (!n) return false;
  msn = *n;
  if (mid != std::string_view::npos) {
    auto p = parseNumber(nums.substr(mid + 1), "part number");
    if (!p || *p > 100000) return false;
    part = static_cast<uint32_t>(*p);
  }
  return true;
}

bool validSessionId(std::string_view s) {
  if (s.empty() || s.size() > kMaxSessionIdLength) return false;
  for (char ch : s) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool isHlsPath(std::string_view p) {
  std::string_view last = lastSegment(p);
  if (last == kPlaylistName || last == "init.mp4") return true;
  return last.starts_with("seg") && (last.ends_with(".ts") || last.ends_with(".m4s"));
}

Result<HlsRequest> parseHlsRequest(std::string_view rawPath, std::string_view rawQuery) {
  auto segs = http::decodePathSegments(rawPath);
  if (!segs) return Status::error("bad path: " + segs.message());
  if (segs->size() != 3) return Status::error("expected /{app}/{stream}/index.m3u8");
  HlsRequest r;
  r.stream = (*segs)[0] + "/" + (*segs)[1];
  const std::string& file = (*segs)[2];
  if (file == kPlaylistName) {
    r.kind = HlsRequest::Kind::kPlaylist;
  } else if (file == "init.mp4") {
    r.kind = HlsRequest::Kind::kInit;
    r.container = Container::kFmp4;
  } else {
    Container c = Container::kTs;
    std::optional<uint32_t> part;
    if (!parseSegmentName(file, r.msn, part, c))
      return Status::error("unknown HLS resource " + file);
    r.kind = part ? HlsRequest::Kind::kPart : HlsRequest::Kind::kSegment;
    r.part = part.value_or(0);
    r.container = c;
  }
  auto q = http::parseQuery(rawQuery);
  if (!q) return Status::error("bad query: " + q.message());
  for (const auto& p : *q) {
    if (p.key == "container") {
      Container c;
      if (p.value == "ts")
        c = Container::kTs;
      else if (p.value == "fmp4")
        c = Container::kFmp4;
      else
        return Status::error("container must be ts or fmp4");
      if (r.container && *r.container != c) return Status::error("container does not match");
      r.container = c;
    } else if (p.key == "_HLS_msn") {
      auto n = parseNumber(p.value, "_HLS_msn");
      if (!n) return n.status();
      r.hlsMsn = *n;
    } else if (p.key == "_HLS_part") {
      auto n = parseNumber(p.value, "_HLS_part");
      if (!n) return n.status();
      r.hlsPart = *n;
    } else if (p.key == "_HLS_skip") {
      // YES skips segments; v2 also skips date ranges (rfc8216bis 6.2.5.1).
      if (p.value != "YES" && p.value != "v2") return Status::error("_HLS_skip must be YES or v2");
      r.skip = true;
    } else if (p.key == "hls_session") {
      if (!validSessionId(p.value))
        return Status::error("hls_session must be 1..32 of A-Z a-z 0-9 - _");
      r.session = p.value;
    }
  }
  // _HLS_part without _HLS_msn is an error (rfc8216bis 6.2.5.2).
  if (r.hlsPart && !r.hlsMsn) return Status::error("_HLS_part requires _HLS_msn");
  if (r.kind != HlsRequest::Kind::kPlaylist && (r.hlsMsn || r.skip))
    return Status::error("delivery directives apply to playlists only");
  return r;
}

}  // namespace xl::hls
