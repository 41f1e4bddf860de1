#include "time_range.h"

#include <cstdio>
#include <ctime>

namespace xl::recorder {
namespace {

bool digitsAt(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// ".fff" -> milliseconds; advances pos. Up to 9 digits, the first three count.
bool fraction(std::string_view s, size_t& pos, int64_t* ms) {
  *ms = 0;
  if (pos >= s.size() || s[pos] != '.') return true;
  ++pos;
  size_t start = pos;
  int64_t scale = 100;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    if (pos - start >= 9) return false;
    *ms += (s[pos] - '0') * scale;
    scale /= 10;
    ++pos;
  }
  return pos > start;
}

}  // namespace

std::optional<int64_t> parseTime(std::string_view s) {
  if (s.empty() || s.size() > 40) return std::nullopt;
  if (s.find('-') == std::string_view::npos) {  // epoch seconds
    size_t pos = 0;
    int64_t secs = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos >= 11) return std::nullopt;  // beyond year 5000
      secs = secs * 10 + (s[pos] - '0');
      ++pos;
    }
    if (pos == 0) return std::nullopt;
    int64_t ms = 0;
    if (!fraction(s, pos, &ms) || pos != s.size()) return std::nullopt;
    return secs * 1000 + ms;
  }
  int y, mo, d, h, mi, se;
  if (!digitsAt(s, 0, 4, &y) || s.size() < 19 || s[4] != '-' || !digitsAt(s, 5, 2, &mo) ||
      s[7] != '-' || !digitsAt(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digitsAt(s, 11, 2, &h) || s[13] != ':' || !digitsAt(s, 14, 2, &mi) || s[16] != ':' ||
      !digitsAt(s, 17, 2, &se))
    return std::nullopt;
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
    return std::nullopt;
  size_t pos = 19;
  int64_t ms = 0;
  if (!fraction(s, pos, &ms)) return std::nullopt;
  std::string_view zone = s.substr(pos);
  if (!(zone.empty() || zone == "Z" || zone == "z" || zone == "+00:00")) return std::nullopt;
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  time_t t = timegm(&tm);
  // timegm normalises 31 Feb to 3 Mar: refuse dates that do not exist.
  struct tm back {};
  gmtime_r(&t, &back);
  if (back.tm_mday != d && se != 60) return std::nullopt;
  return static_cast<int64_t>(t) * 1000 + ms;
}

std::string formatTime(int64_t epochMs) {
  time_t secs = static_cast<time_t>(epochMs / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(epochMs % 1000));
  return buf;
}

}  // namespace xl::recorder
