// Arbitrary bytes into ChunkReader, split at input-chosen points, with chunk-size changes both
// from in-band Set Chunk Size messages and from the fuzzer itself.
#include <cstddef>
#include <cstdint>

#include "rtmp/chunk_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // First byte: piece size for incremental feeding; second: initial chunk size selector.
  size_t piece = size_t(data[0] % 64) + 1;
  static constexpr uint32_t kSizes[] = {1, 2, 7, 128, 4096, 65536};
  xl::rtmp::ChunkReader reader(xl::rtmp::ChunkReaderLimits{1 << 20, 16});
  (void)reader.setChunkSize(kSizes[data[1] % 6]);
  data += 2;
  size -= 2;
  size_t messages = 0;
  auto onMessage = [&](xl::rtmp::RtmpMessage&& m) -> xl::Status {
    ++messages;
    const uint8_t* p = m.payload.data();
    if (m.payload.size() != 0 && p[0] == 0xFF) return xl::Status::error("stop");
    if (m.type == xl::rtmp::kMsgSetChunkSize && m.payload.size() >= 4) {
      return reader.setChunkSize(uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 |
                                 p[3]);
    }
    if (m.type == xl::rtmp::kMsgAbort && m.payload.size() >= 4) reader.abortMessage(p[3]);
    if (messages % 7 == 3) (void)reader.setChunkSize(kSizes[messages % 6]);
    return xl::Status::ok();
  };
  size_t off = 0;
  while (off < size) {
    size_t k = piece < size - off ? piece : size - off;
    if (!reader.feed(data + off, k, onMessage)) break;
    off += k;
  }
  if (reader.bytesReceived() > size) __builtin_trap();
  return 0;
}
