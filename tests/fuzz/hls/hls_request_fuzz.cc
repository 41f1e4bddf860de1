// HLS request handling on untrusted request-targets: the route match, path and query parsing
// (container, LL-HLS delivery directives _HLS_msn/_HLS_part/_HLS_skip, hls_session, part
// names), then what a handler does with the result: look the segment or part up in a snapshot,
// check blocking-reload positions and render the (delta) playlist with the session id.
// Invariants: a parsed request names "{app}/{stream}" with exactly one '/', _HLS_part never
// comes without _HLS_msn, a session id is 1..32 safe characters, lookups stay in bounds.
#include <string>
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
      if (i >= 10)
        for (uint32_t k = 0; k < 6; ++k) {
          auto p = std::make_shared<xl::hls::Part>();
          p->msn = i;
          p->index = k;
          p->durationMs = 330;
          p->independent = k == 0;
          seg->parts.push_back(p);
        }
      snap.segments.push_back(seg);
    }
    snap.windowStart = 1;
    snap.partTargetMs = 333;
    auto open = std::make_shared<xl::hls::Part>();
    open->msn = 12;
    snap.openParts.push_back(open);
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
    if (auto p = snap.findPart(r->msn, r->part); p && (p->msn != r->msn || p->index != r->part))
      __builtin_trap();
    if (r->hlsMsn) {
      snap.find(*r->hlsMsn);
      snap.satisfies(*r->hlsMsn, r->hlsPart ? &*r->hlsPart : nullptr);
    }
    if (!r->session.empty()) {
      if (r->session.size() > xl::hls::kMaxSessionIdLength) __builtin_trap();
      for (char c : r->session)
        if (c == '&' || c == '"' || c == '\n' || c == '?' || c == '#') __builtin_trap();
    }
    xl::hls::Snapshot copy = snap;
    if (r->container) copy.container = *r->container;
    auto rendered = xl::hls::renderPlaylist(copy, r->skip);
    std::string text = rendered.withQuery("hls_session=" + r->session);
    if (text.rfind("#EXTM3U\n", 0) != 0) __builtin_trap();
  }
  return 0;
}
