// RTCP (RFC 3550 §6): sender and receiver reports (§6.4), SDES CNAME (§6.5) and BYE (§6.6),
// parsed from and written to compound packets (§6.1).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rtp/rtp_packet.h"
#include "xueliang/buffer.h"

namespace xl::rtp {

enum RtcpType : uint8_t { kRtcpSr = 200, kRtcpRr = 201, kRtcpSdes = 202, kRtcpBye = 203 };

// §6.4.1 report block.
struct ReportBlock {
  uint32_t ssrc = 0;
  uint8_t fractionLost = 0;
  int32_t cumulativeLost = 0;  // 24-bit signed
  uint32_t highestSeq = 0;     // extended highest sequence number received
  uint32_t jitter = 0;
  uint32_t lastSr = 0;  // middle 32 bits of the last SR's NTP timestamp
  uint32_t delaySinceLastSr = 0;
};

struct SenderReport {
  uint32_t ssrc = 0;
  uint64_t ntp = 0;  // 32.32 fixed point seconds since 1900
  uint32_t rtpTimestamp = 0;
  uint32_t packetCount = 0;
  uint32_t octetCount = 0;
  std::vector<ReportBlock> reports;
};

struct ReceiverReport {
  uint32_t ssrc = 0;
  std::vector<ReportBlock> reports;
};

// One packet of a compound packet: its common header fields and its whole bytes.
struct RtcpHeader {
  uint8_t count = 0;  // RC / SC / subtype
  uint8_t type = 0;
  ByteSpan packet;  // header included, padding included
};

// Walks a compound packet (§6.1, §6.4.1 header); fails at the first malformed length. `fn`
// returning false stops the walk.
Status forEachRtcp(ByteSpan compound, const std::function<bool(const RtcpHeader&)>& fn);
Result<SenderReport> parseSenderReport(ByteSpan packet);
// One 24-byte report block at `p` (the caller checked the length).
ReportBlock readReportBlock(const uint8_t* p);
Result<ReceiverReport> parseReceiverReport(ByteSpan packet);

void writeSenderReport(BufferWriter& w, const SenderReport& sr);
void writeReceiverReport(BufferWriter& w, const ReceiverReport& rr);
// SDES with one chunk holding a CNAME item (§6.5.1).
void writeSdesCname(BufferWriter& w, uint32_t ssrc, std::string_view cname);
void writeBye(BufferWriter& w, uint32_t ssrc);

// NTP timestamp (§4) for a Unix time in microseconds.
uint64_t ntpFromUnixMicros(uint64_t micros);
// Middle 32 bits of an NTP timestamp, as LSR fields carry them (§6.4.1).
inline uint32_t ntpMiddle(uint64_t ntp) {
  return static_cast<uint32_t>(ntp >> 16);
}

}  // namespace xl::rtp
