#include "webrtc/stun.h"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

namespace xl::webrtc {
namespace {

constexpr uint32_t kFingerprintXor = 0x5354554e;  // RFC 8489 §14.7
constexpr size_t kHmacSize = 20;
constexpr size_t kMaxUsername = 513;  // §14.3

uint16_t rd16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t rd32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
void wr16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
void wr32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

Status bad(std::string why) {
  return Status::error("stun: " + why);
}

// §14.2: port xor the cookie's top 16 bits, address xor cookie (IPv4) or cookie + id (IPv6).
Result<sockaddr_storage> parseXorAddress(const uint8_t* v, size_t len, const uint8_t* header) {
  if (len < 4) return bad("XOR-MAPPED-ADDRESS too short");
  sockaddr_storage ss{};
  uint16_t port = rd16(v + 2) ^ static_cast<uint16_t>(kStunMagicCookie >> 16);
  if (v[1] == 1) {
    if (len != 8) return bad("XOR-MAPPED-ADDRESS IPv4 length " + std::to_string(len));
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    uint32_t ip = rd32(v + 4) ^ kStunMagicCookie;
    a->sin_addr.s_addr = htonl(ip);
  } else if (v[1] == 2) {
    if (len != 20) return bad("XOR-MAPPED-ADDRESS IPv6 length " + std::to_string(len));
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    for (int i = 0; i < 16; ++i) a->sin6_addr.s6_addr[i] = v[4 + i] ^ header[4 + i];
  } else {
    return bad("XOR-MAPPED-ADDRESS family " + std::to_string(v[1]));
  }
  return ss;
}

void hmacSha1(std::string_view key, const uint8_t* a, size_t an, const uint8_t* b, size_t bn,
              uint8_t out[kHmacSize]) {
  // Two pieces: the header with its adjusted length, then the attributes before the MAC.
  std::vector<uint8_t> joined(an + bn);
  std::memcpy(joined.data(), a, an);
  if (bn) std::memcpy(joined.data() + an, b, bn);
  unsigned int len = kHmacSize;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), joined.data(), joined.size(), out,
       &len);
}

}  // namespace

uint32_t crc32(ByteSpan data) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

Result<StunMessage> parseStun(ByteSpan d) {
  if (d.size() < kStunHeaderSize) return bad("message shorter than the 20-byte header");
  if (d[0] & 0xC0) return bad("first two bits are not zero");
  if (rd32(d.data() + 4) != kStunMagicCookie) return bad("no magic cookie");
  size_t len = rd16(d.data() + 2);
  if (len % 4) return bad("length " + std::to_string(len) + " is not a multiple of 4");
  if (kStunHeaderSize + len != d.size())
    return bad("length " + std::to_string(len) + " disagrees with the datagram size " +
               std::to_string(d.size()));
  StunMessage m;
  m.type = rd16(d.data());
  std::memcpy(m.transactionId.data(), d.data() + 8, 12);
  size_t at = kStunHeaderSize;
  while (at < d.size()) {
    if (d.size() - at < 4) return bad("truncated attribute header");
    uint16_t type = rd16(d.data() + at);
    size_t alen = rd16(d.data() + at + 2);
    size_t padded = (alen + 3) & ~size_t(3);
    if (padded > d.size() - at - 4)
      return bad("attribute 0x" + std::to_string(type) + " overruns the message");
    const uint8_t* v = d.data() + at + 4;
    if (m.hasFingerprint) return bad("attribute after FINGERPRINT");
    if (type == kAttrFingerprint) {
      if (alen != 4) return bad("FINGERPRINT length " + std::to_string(alen));
      uint32_t want = crc32(d.subspan(0, at)) ^ kFingerprintXor;
      if (rd32(v) != want) return bad("FINGERPRINT mismatch");
      m.hasFingerprint = true;
    } else if (m.integrityOffset) {
      // §14.5: attributes after MESSAGE-INTEGRITY (other than FINGERPRINT) are ignored.
    } else {
      switch (type) {
        case kAttrUsername:
          if (alen > kMaxUsername) return bad("USERNAME longer than 513 bytes");
          m.username.assign(reinterpret_cast<const char*>(v), alen);
          break;
        case kAttrMessageIntegrity:
          if (alen != kHmacSize) return bad("MESSAGE-INTEGRITY length " + std::to_string(alen));
          m.integrityOffset = at;
          break;
        case kAttrPriority:
          if (alen != 4) return bad("PRIORITY length " + std::to_string(alen));
          m.priority = rd32(v);
          break;
        case kAttrUseCandidate:
          if (alen != 0) return bad("USE-CANDIDATE with a value");
          m.useCandidate = true;
          break;
        case kAttrIceControlling:
        case kAttrIceControlled: {
          if (alen != 8) return bad("ICE-CONTROLLING/CONTROLLED length " + std::to_string(alen));
          uint64_t tb = uint64_t(rd32(v)) << 32 | rd32(v + 4);
          (type == kAttrIceControlling ? m.iceControlling : m.iceControlled) = tb;
          break;
        }
        case kAttrXorMappedAddress: {
          auto a = parseXorAddress(v, alen, d.data());
          if (!a) return a.status();
          m.xorMappedAddress = *a;
          break;
        }
        case kAttrErrorCode:
          if (alen < 4) return bad("ERROR-CODE too short");
          m.errorCode = (v[2] & 7) * 100 + v[3];
          break;
        default:
          break;  // comprehension-optional or unknown: skipped
      }
    }
    at += 4 + padded;
  }
  return m;
}

Status verifyIntegrity(ByteSpan d, const StunMessage& m, std::string_view key) {
  if (!m.integrityOffset) return bad("no MESSAGE-INTEGRITY");
  size_t at = m.integrityOffset;
  if (at + 4 + kHmacSize > d.size()) return bad("MESSAGE-INTEGRITY overruns the message");
  // §14.5: the MAC covers the header, with a length that ends at MESSAGE-INTEGRITY, and the
  // attributes before it.
  uint8_t header[kStunHeaderSize];
  std::memcpy(header, d.data(), kStunHeaderSize);
  wr16(header + 2, static_cast<uint16_t>(at + 4 + kHmacSize - kStunHeaderSize));
  uint8_t mac[kHmacSize];
  hmacSha1(key, header, kStunHeaderSize, d.data() + kStunHeaderSize, at - kStunHeaderSize, mac);
  if (CRYPTO_memcmp(mac, d.data() + at + 4, kHmacSize) != 0)
    return bad("MESSAGE-INTEGRITY mismatch");
  return Status::ok();
}

StunWriter::StunWriter(uint16_t type, const TransactionId& id) : out_(kStunHeaderSize) {
  wr16(out_.data(), type);
  wr32(out_.data() + 4, kStunMagicCookie);
  std::memcpy(out_.data() + 8, id.data(), 12);
}

void StunWriter::setLength(size_t end) {
  wr16(out_.data() + 2, static_cast<uint16_t>(end - kStunHeaderSize));
}

StunWriter& StunWriter::attribute(uint16_t type, ByteSpan value) {
  size_t at = out_.size();
  out_.resize(at + 4 + ((value.size() + 3) & ~size_t(3)), 0);
  wr16(out_.data() + at, type);
  wr16(out_.data() + at + 2, static_cast<uint16_t>(value.size()));
  if (!value.empty()) std::memcpy(out_.data() + at + 4, value.data(), value.size());
  setLength(out_.size());
  return *this;
}

StunWriter& StunWriter::attribute(uint16_t type, std::string_view value) {
  return attribute(type, ByteSpan(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
}

StunWriter& StunWriter::u32(uint16_t type, uint32_t value) {
  uint8_t v[4];
  wr32(v, value);
  return attribute(type, ByteSpan(v, 4));
}

StunWriter& StunWriter::u64(uint16_t type, uint64_t value) {
  uint8_t v[8];
  wr32(v, static_cast<uint32_t>(value >> 32));
  wr32(v + 4, static_cast<uint32_t>(value));
  return attribute(type, ByteSpan(v, 8));
}

StunWriter& StunWriter::xorMappedAddress(const sockaddr* addr) {
  uint8_t v[20] = {};
  size_t n = 0;
  if (addr->sa_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(addr);
    v[1] = 1;
    wr16(v + 2, ntohs(a->sin_port) ^ static_cast<uint16_t>(kStunMagicCookie >> 16));
    wr32(v + 4, ntohl(a->sin_addr.s_addr) ^ kStunMagicCookie);
    n = 8;
  } else if (addr->sa_family == AF_INET6 &&
             IN6_IS_ADDR_V4MAPPED(&reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr)) {
    // An IPv4 peer on a dual-stack socket (::ffff:a.b.c.d): it asked over IPv4 and must see
    // the IPv4 form, as from an IPv4 socket.
    auto* a = reinterpret_cast<const sockaddr_in6*>(addr);
    v[1] = 1;
    wr16(v + 2, ntohs(a->sin6_port) ^ static_cast<uint16_t>(kStunMagicCookie >> 16));
    for (int i = 0; i < 4; ++i) v[4 + i] = a->sin6_addr.s6_addr[12 + i] ^ out_[4 + i];
    n = 8;
  } else if (addr->sa_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(addr);
    v[1] = 2;
    wr16(v + 2, ntohs(a->sin6_port) ^ static_cast<uint16_t>(kStunMagicCookie >> 16));
    for (int i = 0; i < 16; ++i) v[4 + i] = a->sin6_addr.s6_addr[i] ^ out_[4 + i];
    n = 20;
  } else {
    return *this;
  }
  return attribute(kAttrXorMappedAddress, ByteSpan(v, n));
}

StunWriter& StunWriter::integrity(std::string_view key) {
  size_t at = out_.size();
  setLength(at + 4 + kHmacSize);
  uint8_t mac[kHmacSize];
  hmacSha1(key, out_.data(), at, nullptr, 0, mac);
  return attribute(kAttrMessageIntegrity, ByteSpan(mac, kHmacSize));
}

StunWriter& StunWriter::fingerprint() {
  size_t at = out_.size();
  setLength(at + 8);
  uint32_t crc = crc32(ByteSpan(out_.data(), at)) ^ kFingerprintXor;
  return u32(kAttrFingerprint, crc);
}

std::vector<uint8_t> bindingSuccess(const TransactionId& id, const sockaddr* from,
                                    std::string_view key) {
  StunWriter w(kStunBindingSuccess, id);
  w.xorMappedAddress(from).integrity(key).fingerprint();
  return w.bytes();
}

}  // namespace xl::webrtc
