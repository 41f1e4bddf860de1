// Arbitrary bytes as an RTSP client connection's input (responses and "$" interleaved frames),
// fed whole and in small pieces: both see the same responses and frames; a frame's peek is never
// longer than the frame; the DESCRIBE body parser takes any response body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "rtsp_reader.h"

namespace {

struct Count : xlload::RtspReader::Sink {
  size_t responses = 0, frames = 0, frameLen = 0, bodyBytes = 0;
  bool onResponse(int status, const std::string&, const std::string& body) override {
    if (status < 100 || status > 999) abort();
    ++responses;
    bodyBytes += body.size();
    (void)xlload::parseRtspTracks(body);
    return true;
  }
  void onFrameStart(uint8_t, size_t length) override { frameLen = length; }
  void onFrameEnd(uint8_t, const uint8_t*, size_t n) override {
    if (n > frameLen || n > xlload::RtspReader::kPeek) abort();
    ++frames;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Count whole, pieces;
  xlload::RtspReader a(whole), b(pieces);
  std::string ea = a.feed(data, size), eb;
  for (size_t at = 0; at < size && eb.empty(); at += 5)
    eb = b.feed(data + at, size - at < 5 ? size - at : 5);
  if (ea.empty() && eb.empty() &&
      (whole.responses != pieces.responses || whole.frames != pieces.frames ||
       whole.bodyBytes != pieces.bodyBytes))
    abort();
  (void)xlload::rtspHeader(std::string(reinterpret_cast<const char*>(data), size), "session");
  return 0;
}
