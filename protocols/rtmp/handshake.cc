#include "rtmp/handshake.h"

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <random>

namespace xl::rtmp {
namespace {

constexpr size_t kDigestLen = 32;
constexpr size_t kBlockLen = 764;  // key block and digest block of the digest handshake
constexpr uint32_t kServerVersion = 0x04050001;  // non-zero: tells the client S1 is signed
constexpr uint32_t kClientVersion = 0x0A000000;

// "Genuine Adobe Flash Player 001" / "Genuine Adobe Flash Media Server 001" followed by the same
// 32 random bytes; these constants are fixed by the Flash handshake every client implements.
constexpr uint8_t kKeyTail[32] = {0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0,
                                  0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80,
                                  0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE};

template <size_t N>
std::array<uint8_t, N + 32> makeKey(const char (&text)[N + 1]) {
  std::array<uint8_t, N + 32> k{};
  std::memcpy(k.data(), text, N);
  std::memcpy(k.data() + N, kKeyTail, 32);
  return k;
}

const auto kPlayerKey = makeKey<30>("Genuine Adobe Flash Player 001");
const auto kServerKey = makeKey<36>("Genuine Adobe Flash Media Server 001");

std::array<uint8_t, 32> hmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(),
       &len);
  return out;
}

void fillRandom(uint8_t* p, size_t n) {
  if (RAND_bytes(p, static_cast<int>(n)) == 1) return;
  // Handshake randomness is not a secret; a PRNG is an acceptable fallback.
  static thread_local std::mt19937 rng{std::random_device{}()};
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(rng());
}

void putBe32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

// Fills a C1/S1 with time 0, `version`, random bytes and, if schema >= 0, a digest signed with
// `key`. Returns the digest offset.
size_t makeSignedPacket(uint8_t* p, uint32_t version, int schema, std::span<const uint8_t> key) {
  fillRandom(p, kHandshakeSize);
  putBe32(p, 0);
  putBe32(p + 4, version);
  if (schema < 0) return 0;
  std::span<const uint8_t, kHandshakeSize> pkt(p, kHandshakeSize);
  size_t off = handshakeDigestOffset(pkt, schema);
  auto d = handshakeDigest(pkt, off, key);
  std::memcpy(p + off, d.data(), kDigestLen);
  return off;
}

// C2/S2 of the digest handshake: random bytes whose last 32 bytes are an HMAC keyed with
// HMAC(fullKey, peer's C1/S1 digest).
void makeSignedResponse(uint8_t* p, std::span<const uint8_t> fullKey,
                        std::span<const uint8_t> peerDigest) {
  fillRandom(p, kHandshakeSize);
  auto k = hmacSha256(fullKey, peerDigest);
  auto d = hmacSha256(k, {p, kHandshakeSize - kDigestLen});
  std::memcpy(p + kHandshakeSize - kDigestLen, d.data(), kDigestLen);
}

}  // namespace

std::span<const uint8_t> flashPlayerKey(bool full) {
  return {kPlayerKey.data(), full ? kPlayerKey.size() : 30};
}
std::span<const uint8_t> flashServerKey(bool full) {
  return {kServerKey.data(), full ? kServerKey.size() : 36};
}

size_t handshakeDigestOffset(std::span<const uint8_t, kHandshakeSize> p, int schema) {
  // The digest block starts after time+version (schema 1) or after the key block (schema 0);
  // its first 4 bytes, summed, select where in the remaining 728 bytes the digest sits.
  size_t block = schema == 0 ? 8 + kBlockLen : 8;
  size_t sum = size_t(p[block]) + p[block + 1] + p[block + 2] + p[block + 3];
  return block + 4 + sum % (kBlockLen - 4 - kDigestLen);
}

std::array<uint8_t, 32> handshakeDigest(std::span<const uint8_t, kHandshakeSize> p, size_t offset,
                                        std::span<const uint8_t> key) {
  uint8_t joined[kHandshakeSize - kDigestLen];
  std::memcpy(joined, p.data(), offset);
  std::memcpy(joined + offset, p.data() + offset + kDigestLen,
              kHandshakeSize - offset - kDigestLen);
  return hmacSha256(key, joined);
}

int handshakeFindSchema(std::span<const uint8_t, kHandshakeSize> p, std::span<const uint8_t> key) {
  for (int schema : {0, 1}) {
    size_t off = handshakeDigestOffset(p, schema);
    auto d = handshakeDigest(p, off, key);
    if (std::memcmp(d.data(), p.data() + off, kDigestLen) == 0) return schema;
  }
  return -1;
}

Result<HandshakeStep> HandshakeServer::feed(std::span<const uint8_t> in) {
  HandshakeStep step;
  if (state_ == State::kDone) return step;
  size_t want = (state_ == State::kC0C1 ? 1 + kHandshakeSize : kHandshakeSize) - pending_.size();
  size_t take = std::min(want, in.size());
  // Version check as soon as C0 arrives, so a non-RTMP client is refused without waiting.
  if (state_ == State::kC0C1 && pending_.empty() && take > 0) {
    uint8_t version = in[0];
    if (version == 6 || version == 8) {
      return Status::error("rtmp handshake: encrypted RTMPE (version " + std::to_string(version) +
                           ") is not supported");
    }
    // §5.2.2: versions 0-2 are deprecated, 4-31 reserved (we answer 3), >= 32 is not RTMP.
    if (version >= 32) {
      return Status::error("rtmp handshake: C0 version " + std::to_string(version) +
                           " is not RTMP");
    }
  }
  pending_.insert(pending_.end(), in.begin(), in.begin() + take);
  step.consumed = take;
  if (take < want) return step;
  if (state_ == State::kC0C1) {
    step.send = respond();
    state_ = State::kC2;
    pending_.clear();
    // C2 may already be in this read.
    auto more = feed(in.subspan(take));
    if (!more) return more.status();
    step.consumed += more->consumed;
    step.done = more->done;
    return step;
  }
  // C2 is not verified: Flash-era servers accept any C2 and some clients send garbage.
  pending_.clear();
  pending_.shrink_to_fit();
  state_ = State::kDone;
  step.done = true;
  return step;
}

BufferRef HandshakeServer::respond() {
  std::span<const uint8_t, kHandshakeSize> c1(pending_.data() + 1, kHandshakeSize);
  // A zero version field means the plain §5.2 handshake; otherwise look for a C1 digest.
  bool versioned = c1[4] | c1[5] | c1[6] | c1[7];
  schema_ = versioned ? handshakeFindSchema(c1, flashPlayerKey(false)) : -1;

  std::array<uint8_t, 1 + 2 * kHandshakeSize> out;
  out[0] = kRtmpVersion;
  uint8_t* s1 = out.data() + 1;
  uint8_t* s2 = s1 + kHandshakeSize;
  if (schema_ < 0) {
    // Simple handshake: S1 = time 0, zero field, random; S2 echoes C1 (§5.2.3, §5.2.4).
    makeSignedPacket(s1, 0, -1, {});
    std::memcpy(s2, c1.data(), kHandshakeSize);
  } else {
    makeSignedPacket(s1, kServerVersion, schema_, flashServerKey(false));
    size_t c1Off = handshakeDigestOffset(c1, schema_);
    makeSignedResponse(s2, flashServerKey(true), c1.subspan(c1Off, kDigestLen));
  }
  return BufferRef::copyOf(out.data(), out.size());
}

BufferRef HandshakeClient::start() {
  makeSignedPacket(c1_.data(), digest_ ? kClientVersion : 0, digest_ ? 1 : -1,
                   flashPlayerKey(false));
  if (digest_) {
    size_t off = handshakeDigestOffset(c1_, 1);
    std::memcpy(c1Digest_.data(), c1_.data() + off, kDigestLen);
  }
  BufferWriter w(1 + kHandshakeSize);
  w.u8(kRtmpVersion);
  w.append(c1_.data(), c1_.size());
  return w.freeze();
}

Result<HandshakeStep> HandshakeClient::feed(std::span<const uint8_t> in) {
  HandshakeStep step;
  if (done_) return step;
  size_t want = 1 + 2 * kHandshakeSize - pending_.size();
  size_t take = std::min(want, in.size());
  if (pending_.empty() && take > 0 && in[0] != kRtmpVersion) {
    return Status::error("rtmp handshake: S0 version " + std::to_string(in[0]) + ", expected 3");
  }
  pending_.insert(pending_.end(), in.begin(), in.begin() + take);
  step.consumed = take;
  if (take < want) return step;

  std::span<const uint8_t, kHandshakeSize> s1(pending_.data() + 1, kHandshakeSize);
  std::span<const uint8_t, kHandshakeSize> s2(pending_.data() + 1 + kHandshakeSize, kHandshakeSize);
  bool versioned = s1[4] | s1[5] | s1[6] | s1[7];
  int schema = digest_ && versioned ? handshakeFindSchema(s1, flashServerKey(false)) : -1;
  serverDigest_ = schema >= 0;
  BufferWriter w(kHandshakeSize);
  if (serverDigest_) {
    // S2's last 32 bytes are keyed from our C1 digest: proves the server saw our C1.
    auto k = hmacSha256(flashServerKey(true), c1Digest_);
    auto expect = hmacSha256(k, s2.first(kHandshakeSize - kDigestLen));
    if (std::memcmp(expect.data(), s2.data() + kHandshakeSize - kDigestLen, kDigestLen) != 0) {
      return Status::error("rtmp handshake: S2 digest does not match C1");
    }
    size_t off = handshakeDigestOffset(s1, schema);
    std::array<uint8_t, kHandshakeSize> c2;
    makeSignedResponse(c2.data(), flashPlayerKey(true), s1.subspan(off, kDigestLen));
    w.append(c2.data(), c2.size());
  } else {
    w.append(s1.data(), s1.size());  // §5.2.3: C2 echoes S1
  }
  pending_.clear();
  pending_.shrink_to_fit();
  done_ = true;
  step.send = w.freeze();
  step.done = true;
  return step;
}

}  // namespace xl::rtmp
