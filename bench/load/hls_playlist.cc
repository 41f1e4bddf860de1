#include "hls_playlist.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace xlload {
namespace {

// Value of ATTR= in an attribute list (quoted or not), or "".
std::string attr(std::string_view list, std::string_view name) {
  size_t at = 0;
  while (at < list.size()) {
    size_t eq = list.find('=', at);
    if (eq == std::string_view::npos) return "";
    std::string_view key = list.substr(at, eq - at);
    size_t v = eq + 1, end;
    std::string_view value;
    if (v < list.size() && list[v] == '"') {
      end = list.find('"', v + 1);
      if (end == std::string_view::npos) return "";
      value = list.substr(v + 1, end - v - 1);
      end = list.find(',', end);
    } else {
      end = list.find(',', v);
      value = list.substr(v, end == std::string_view::npos ? end : end - v);
    }
    if (key == name) return std::string(value);
    if (end == std::string_view::npos) return "";
    at = end + 1;
  }
  return "";
}

bool startsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

double number(std::string_view s) {
  std::string t(s.substr(0, 32));
  return std::strtod(t.c_str(), nullptr);
}

}  // namespace

double parseIsoTimeMs(std::string_view s) {
  int y, mo, d, h, mi;
  double sec;
  char tail[16] = {};
  std::string t(s.substr(0, 40));
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf%15s", &y, &mo, &d, &h, &mi, &sec, tail) < 6)
    return 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec < 0 || sec >= 61) return 0;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  double ms = static_cast<double>(timegm(&tm)) * 1e3 + sec * 1e3;
  if ((tail[0] == '+' || tail[0] == '-') && tail[1]) {
    int oh = 0, om = 0;
    std::sscanf(tail + 1, "%2d:%2d", &oh, &om);
    ms -= (tail[0] == '+' ? 1 : -1) * (oh * 60 + om) * 60e3;
  }
  return ms;
}

std::string parseHlsPlaylist(std::string_view text, HlsPlaylist& out) {
  out = HlsPlaylist{};
  if (!startsWith(text, "#EXTM3U")) return "hls: not a playlist";
  long long msn = 0;  // EXT-X-MEDIA-SEQUENCE comes before the first segment (§4.4.3.2)
  double pdt = 0, extinf = -1, partOffsetS = 0;
  int partIndex = 0;
  bool wantVariant = false, lastWasSegment = false;
  size_t pos = 0, lines = 0;
  while (pos < text.size()) {
    if (++lines > 100000) return "hls: playlist too long";
    size_t e = text.find('\n', pos);
    std::string_view line = text.substr(pos, e == std::string_view::npos ? e : e - pos);
    pos = e == std::string_view::npos ? text.size() : e + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line[0] != '#') {
      if (wantVariant) {
        out.variantUri = std::string(line);
        return "";
      }
      if (extinf < 0) continue;  // a URI without #EXTINF: not a segment
      HlsSegment s{msn, std::string(line), extinf, pdt};
      if (pdt > 0) pdt += extinf * 1e3;
      out.segments.push_back(std::move(s));
      ++msn;
      extinf = -1;
      partIndex = 0;
      partOffsetS = 0;
      lastWasSegment = true;
      continue;
    }
    if (startsWith(line, "#EXT-X-STREAM-INF")) {
      wantVariant = true;
    } else if (startsWith(line, "#EXT-X-TARGETDURATION:")) {
      out.targetMs = number(line.substr(22)) * 1e3;
      if (!(out.targetMs > 0 && out.targetMs < 3600e3)) return "hls: bad EXT-X-TARGETDURATION";
    } else if (startsWith(line, "#EXT-X-MEDIA-SEQUENCE:")) {
      if (!out.segments.empty() || !out.parts.empty())
        return "hls: EXT-X-MEDIA-SEQUENCE after the first segment";
      out.mediaSequence = std::strtoll(std::string(line.substr(22, 20)).c_str(), nullptr, 10);
      if (out.mediaSequence < 0 || out.mediaSequence > (1LL << 53))
        return "hls: bad EXT-X-MEDIA-SEQUENCE";
      msn = out.mediaSequence;
    } else if (startsWith(line, "#EXT-X-SERVER-CONTROL:")) {
      out.canBlockReload = attr(line.substr(22), "CAN-BLOCK-RELOAD") == "YES";
    } else if (startsWith(line, "#EXT-X-PART-INF:")) {
      out.partTargetMs = number(attr(line.substr(16), "PART-TARGET")) * 1e3;
      if (!(out.partTargetMs >= 0 && out.partTargetMs < 3600e3)) return "hls: bad PART-TARGET";
    } else if (startsWith(line, "#EXT-X-PROGRAM-DATE-TIME:")) {
      pdt = parseIsoTimeMs(line.substr(25));
    } else if (startsWith(line, "#EXTINF:")) {
      extinf = number(line.substr(8));
      if (!(extinf >= 0 && extinf < 3600)) return "hls: bad EXTINF duration";
    } else if (startsWith(line, "#EXT-X-PART:")) {
      std::string_view a = line.substr(12);
      HlsPart p;
      p.msn = msn;
      p.index = partIndex++;
      p.uri = attr(a, "URI");
      p.durationS = number(attr(a, "DURATION"));
      if (p.uri.empty() || !(p.durationS >= 0 && p.durationS < 3600))
        return "hls: EXT-X-PART without URI or DURATION";
      p.independent = attr(a, "INDEPENDENT") == "YES";
      partOffsetS += p.durationS;
      p.endPdtMs = pdt > 0 ? pdt + partOffsetS * 1e3 : 0;
      out.parts.push_back(std::move(p));
      lastWasSegment = false;
    }
  }
  if (wantVariant) return "hls: master playlist without a variant URI";
  // After a completed segment the next part is the first of the following one.
  if (!out.parts.empty() && !lastWasSegment) {
    out.nextMsn = out.parts.back().msn;
    out.nextPart = out.parts.back().index + 1;
  } else {
    out.nextMsn = msn;
    out.nextPart = 0;
  }
  return "";
}

}  // namespace xlload
