// RTMP handshake (Adobe RTMP 1.0 spec §5.2) plus the Flash Player "digest" variant (the
// unpublished but universally implemented HMAC-SHA256 scheme that Flash Player, ffmpeg,
// librtmp and OBS use when C1's version field is non-zero). Pure byte logic, no sockets.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "xueliang/buffer.h"
#include "xueliang/status.h"

namespace xl::rtmp {

inline constexpr size_t kHandshakeSize = 1536;  // C1/S1/C2/S2 (§5.2.3, §5.2.4)
inline constexpr uint8_t kRtmpVersion = 3;      // C0/S0 (§5.2.2)

// Result of one feed(): bytes to send (may be empty), how much input was used, and whether the
// handshake is complete. Bytes after `consumed` belong to the chunk stream.
struct HandshakeStep {
  BufferRef send;
  size_t consumed = 0;
  bool done = false;
};

// Digest layout helpers, exposed for tests. `schema` 0: key block then digest block; 1: digest
// block then key block. Returns the offset of the 32-byte digest inside a 1536-byte C1/S1.
size_t handshakeDigestOffset(std::span<const uint8_t, kHandshakeSize> packet, int schema);
// HMAC-SHA256 of the packet with the 32 digest bytes at `offset` left out.
std::array<uint8_t, 32> handshakeDigest(std::span<const uint8_t, kHandshakeSize> packet,
                                        size_t offset, std::span<const uint8_t> key);
// Finds the schema whose embedded digest verifies with `key`; -1 if none.
int handshakeFindSchema(std::span<const uint8_t, kHandshakeSize> packet,
                        std::span<const uint8_t> key);
// Key material: the 30/36-byte text prefix signs C1/S1; the full keys derive the C2/S2 keys.
std::span<const uint8_t> flashPlayerKey(bool full);
std::span<const uint8_t> flashServerKey(bool full);

// Server side: waits for C0+C1, answers S0+S1+S2 in one write, then waits for C2.
class HandshakeServer {
 public:
  Result<HandshakeStep> feed(std::span<const uint8_t> in);
  bool done() const { return state_ == State::kDone; }
  // True when C1 carried a valid digest and S1/S2 were signed accordingly.
  bool usedDigest() const { return schema_ >= 0; }
  int schema() const { return schema_; }

 private:
  enum class State { kC0C1, kC2, kDone };
  BufferRef respond();
  State state_ = State::kC0C1;
  std::vector<uint8_t> pending_;  // partial C0C1 or C2
  int schema_ = -1;
};

// Client side: start() gives C0+C1; feed() takes S0+S1+S2 and yields C2. With `digest`, C1 is
// signed (schema 1, as ffmpeg does) and S2 is verified when S1 carried a valid digest.
class HandshakeClient {
 public:
  explicit HandshakeClient(bool digest = true) : digest_(digest) {}
  BufferRef start();
  Result<HandshakeStep> feed(std::span<const uint8_t> in);
  bool done() const { return done_; }
  bool serverUsedDigest() const { return serverDigest_; }

 private:
  bool digest_;
  bool done_ = false;
  bool serverDigest_ = false;
  std::array<uint8_t, kHandshakeSize> c1_{};
  std::array<uint8_t, 32> c1Digest_{};
  std::vector<uint8_t> pending_;
};

}  // namespace xl::rtmp
