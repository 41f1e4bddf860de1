// STUN (RFC 8489, formerly RFC 5389) as ICE-lite needs it (RFC 8445 §7.3, RFC 7675): parse a
// Binding request, check its MESSAGE-INTEGRITY (HMAC-SHA1 with the short-term password, §14.5)
// and FINGERPRINT (CRC-32 xor 0x5354554e, §14.7), and build the success response with
// XOR-MAPPED-ADDRESS (§14.2). Parsing never trusts the input: every length is checked.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xueliang/status.h"

namespace xl::webrtc {

using ByteSpan = std::span<const uint8_t>;

inline constexpr uint32_t kStunMagicCookie = 0x2112A442;
inline constexpr size_t kStunHeaderSize = 20;

enum StunType : uint16_t {
  kStunBindingRequest = 0x0001,
  kStunBindingSuccess = 0x0101,
  kStunBindingError = 0x0111,
  kStunBindingIndication = 0x0011,
};

enum StunAttr : uint16_t {
  kAttrMappedAddress = 0x0001,
  kAttrUsername = 0x0006,
  kAttrMessageIntegrity = 0x0008,
  kAttrErrorCode = 0x0009,
  kAttrXorMappedAddress = 0x0020,
  kAttrPriority = 0x0024,
  kAttrUseCandidate = 0x0025,
  kAttrSoftware = 0x8022,
  kAttrFingerprint = 0x8028,
  kAttrIceControlled = 0x8029,
  kAttrIceControlling = 0x802A,
};

using TransactionId = std::array<uint8_t, 12>;

struct StunMessage {
  uint16_t type = 0;
  TransactionId transactionId{};
  std::string username;
  std::optional<uint32_t> priority;
  bool useCandidate = false;
  std::optional<uint64_t> iceControlling;  // tie-breaker
  std::optional<uint64_t> iceControlled;
  std::optional<sockaddr_storage> xorMappedAddress;
  int errorCode = 0;
  // Offset of the MESSAGE-INTEGRITY attribute header in the message, 0 when absent.
  size_t integrityOffset = 0;
  bool hasFingerprint = false;  // present and verified
};

// RFC 7983 §7: the first byte of a STUN message is 0 or 1.
inline bool looksLikeStun(ByteSpan p) {
  return p.size() >= kStunHeaderSize && p[0] < 2 && p[4] == 0x21 && p[5] == 0x12 && p[6] == 0xA4 &&
         p[7] == 0x42;
}

// Parses a STUN message. Fails on a bad header, a length that disagrees with the datagram, an
// attribute that overruns the message, a malformed known attribute, a FINGERPRINT that does not
// match, or attributes after FINGERPRINT (§14.7). Unknown attributes are skipped.
Result<StunMessage> parseStun(ByteSpan data);

// Checks MESSAGE-INTEGRITY (§14.5) of a parsed message with the short-term key (the ICE pwd).
Status verifyIntegrity(ByteSpan data, const StunMessage& m, std::string_view key);

// Builds a STUN message attribute by attribute; integrity() and fingerprint() come last.
class StunWriter {
 public:
  StunWriter(uint16_t type, const TransactionId& id);
  StunWriter& attribute(uint16_t type, ByteSpan value);
  StunWriter& attribute(uint16_t type, std::string_view value);
  StunWriter& u32(uint16_t type, uint32_t value);
  StunWriter& u64(uint16_t type, uint64_t value);
  // Family 0x01 for IPv4 and for IPv4-mapped IPv6 (::ffff:a.b.c.d, a dual-stack socket's IPv4
  // peer), 0x02 (xor cookie + transaction id) for IPv6.
  StunWriter& xorMappedAddress(const sockaddr* addr);
  StunWriter& integrity(std::string_view key);
  StunWriter& fingerprint();
  const std::vector<uint8_t>& bytes() const { return out_; }

 private:
  void setLength(size_t attributesEnd);
  std::vector<uint8_t> out_;
};

// The ICE-lite answer to a Binding request: success with XOR-MAPPED-ADDRESS of the sender,
// MESSAGE-INTEGRITY with our password and FINGERPRINT (RFC 8445 §7.3.1.4).
std::vector<uint8_t> bindingSuccess(const TransactionId& id, const sockaddr* from,
                                    std::string_view key);

// CRC-32 (ISO-HDLC, as zlib) used by FINGERPRINT.
uint32_t crc32(ByteSpan data);

}  // namespace xl::webrtc
