// Arbitrary bytes into the server and client handshakes, fed in input-chosen pieces.
#include <cstddef>
#include <cstdint>

#include "rtmp/handshake.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t piece = size_t(data[0]) * 13 + 1;
  std::span<const uint8_t> in(data + 1, size - 1);

  xl::rtmp::HandshakeServer server;
  size_t consumed = 0;
  for (size_t off = 0; off < in.size();) {
    size_t k = piece < in.size() - off ? piece : in.size() - off;
    auto step = server.feed(in.subspan(off, k));
    if (!step) break;
    if (step->consumed > k) __builtin_trap();
    consumed += step->consumed;
    if (step->send && step->send.size() != 3073) __builtin_trap();
    off += k;
  }
  if (server.done() && consumed != 1537 + 1536) __builtin_trap();

  xl::rtmp::HandshakeClient client(data[0] & 1);
  client.start();
  auto step = client.feed(in);
  if (step && step->done && step->send.size() != 1536) __builtin_trap();
  return 0;
}
