// Arbitrary bytes into the RTSP parser, fed in input-chosen pieces; every request's target and
// Transport header go through their parsers as the server would use them.
#include <cstddef>
#include <cstdint>

#include "rtsp/rtsp_headers.h"
#include "rtsp/rtsp_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xl::rtsp;
  if (size < 1) return 0;
  size_t piece = size_t(data[0] % 32) + 1;
  ++data;
  --size;
  RtspParser parser(RtspLimits{4096, 32, 8192});
  size_t seen = 0;
  auto onMessage = [&](RtspMessage&& m) {
    seen += m.body.size();
    (void)m.cseq();
    (void)parseTarget(m.uri);
    (void)parseTransport(m.header("Transport"));
    (void)sessionId(m.header("Session"));
    return xl::Status::ok();
  };
  auto onData = [&](uint8_t, const uint8_t*, size_t n) {
    seen += n;
    return xl::Status::ok();
  };
  for (size_t off = 0; off < size; off += piece) {
    size_t k = piece < size - off ? piece : size - off;
    if (!parser.feed(data + off, k, onMessage, onData)) break;
  }
  if (seen > size) __builtin_trap();
  return 0;
}
