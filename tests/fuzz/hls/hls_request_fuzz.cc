// HLS request handling on untrusted request-targets: the route match, path and query parsing
// (delivery directives), then what a handler does with the result: look the segment up in a
// snapshot and render the playlist. Invariants: a parsed request names "{app}/{stream}" with
// exactly one '/', _HLS_part never comes without _HLS_msn, lookups stay in bounds.
#include <string_view>

#include "hls/hls_request.h"
#include "hls/playlist.h"

namespace {

const xl::hls::Snapshot& sampleSnapshot() {
  static const xl::hls::Snapshot s = [] {
    xl::hls::Snapshot snap;
    for (uint64_t i = 5; i < 12; ++i) {
      auto seg = std::make_shared<xl::hls::Segment>();
      seg->msn = i;
      seg->durationMs = 2000;
      seg->discontinuity = i == 8;
      snap.segments.push_back(seg);
    }
    snap.windowStart = 1;
    return snap;
  }();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Seeds from tests/data are arbitrary bytes: also try them as a path under a stream.
  std::string prefixed = "/live/demo/" + std::string(in.substr(0, 4096));
  for (std::string_view target : {in, std::string_view(prefixed)}) {
    size_t q = target.find('?');
    std::string_view path = target.substr(0, q);
    std::string_view query =
        q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    xl::hls::isHlsPath(path);
    auto r = xl::hls::parseHlsRequest(path, query);
    if (!r) continue;
    size_t slash = r->stream.find('/');
    if (slash == std::string::npos || r->stream.find('/', slash + 1) != std::string::npos)
      __builtin_trap();
    if (r->hlsPart && !r->hlsMsn) __builtin_trap();
    const auto& snap = sampleSnapshot();
    if (auto seg = snap.find(r->msn); seg && seg->msn != r->msn) __builtin_trap();
    if (r->hlsMsn) snap.find(*r->hlsMsn);
    xl::hls::Snapshot copy = snap;
    if (r->container) copy.container = *r->container;
    if (xl::hls::renderPlaylist(copy).rfind("#EXTM3U\n", 0) != 0) __builtin_trap();
  }
  return 0;
}
