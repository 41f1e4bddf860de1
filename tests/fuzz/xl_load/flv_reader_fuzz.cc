// Arbitrary bytes as an HTTP-FLV body, chunked and not, fed whole and in small pieces: both feeds
// see the same tags and keyframes (the reader is incremental), and a tag never claims more than
// the 24-bit size field allows.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "flv_reader.h"

namespace {

struct Count : xlload::FlvReader::Sink {
  size_t tags = 0, keys = 0;
  void onTag(const xlload::FlvReader::Tag& t) override {
    if (t.size > 0xffffff) abort();
    ++tags;
  }
  void onKeyframe() override { ++keys; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (bool chunked : {false, true}) {
    Count whole, pieces;
    xlload::FlvReader a(whole, chunked), b(pieces, chunked);
    std::string ea = a.feed(data, size), eb;
    for (size_t at = 0; at < size && eb.empty(); at += 7)
      eb = b.feed(data + at, size - at < 7 ? size - at : 7);
    if (ea.empty() != eb.empty()) abort();
    if (ea.empty() && (whole.tags != pieces.tags || whole.keys != pieces.keys)) abort();
  }
  return 0;
}
