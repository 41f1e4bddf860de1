// The recorder's parsers of untrusted text: times in API queries (ISO-8601 UTC or epoch
// seconds) and recording paths found on disk. Invariants: a parsed time formats back to the same
// instant (to the millisecond), and a parsed path names "{app}/{stream}" and rebuilds to itself.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "retention.h"
#include "time_range.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  if (auto t = xl::recorder::parseTime(s)) {
    if (*t < 0) std::abort();
    auto again = xl::recorder::parseTime(xl::recorder::formatTime(*t));
    if (!again || *again != *t) std::abort();
  }
  std::string stream;
  int64_t start = 0;
  if (xl::recorder::parseSegmentPath(s, &stream, &start)) {
    if (stream.find('/') == std::string::npos || stream.find('/') != stream.rfind('/'))
      std::abort();
    if (start % 1000 != 0) std::abort();
  }
  return 0;
}
