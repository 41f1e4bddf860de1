#include "rtp/rtcp.h"

namespace xl::rtp {
namespace {

constexpr size_t kReportBlockSize = 24;

}  // namespace

ReportBlock readReportBlock(const uint8_t* p) {
  ReportBlock b;
  b.ssrc = be32(p);
  b.fractionLost = p[4];
  uint32_t lost = uint32_t(p[5]) << 16 | uint32_t(p[6]) << 8 | p[7];
  b.cumulativeLost =
      (lost & 0x800000) ? static_cast<int32_t>(lost | 0xff000000u) : static_cast<int32_t>(lost);
  b.highestSeq = be32(p + 8);
  b.jitter = be32(p + 12);
  b.lastSr = be32(p + 16);
  b.delaySinceLastSr = be32(p + 20);
  return b;
}

namespace {

void writeBlock(BufferWriter& w, const ReportBlock& b) {
  w.be32(b.ssrc);
  w.u8(b.fractionLost);
  w.be24(static_cast<uint32_t>(b.cumulativeLost) & 0xffffff);
  w.be32(b.highestSeq);
  w.be32(b.jitter);
  w.be32(b.lastSr);
  w.be32(b.delaySinceLastSr);
}

// Common header (§6.4.1): V=2, P=0, count, type, length in 32-bit words minus one.
void writeHeader(BufferWriter& w, uint8_t count, uint8_t type, size_t bytes) {
  w.u8(static_cast<uint8_t>(0x80 | (count & 0x1f)));
  w.u8(type);
  w.be16(static_cast<uint16_t>(bytes / 4 - 1));
}

Status readBlocks(ByteSpan p, size_t offset, uint8_t count, std::vector<ReportBlock>& out) {
  if (offset + count * kReportBlockSize > p.size())
    return Status::error("RTCP report blocks run past the packet");
  for (uint8_t i = 0; i < count; ++i)
    out.push_back(readReportBlock(&p[offset + i * kReportBlockSize]));
  return Status::ok();
}

}  // namespace

Status forEachRtcp(ByteSpan c, const std::function<bool(const RtcpHeader&)>& fn) {
  size_t pos = 0;
  while (pos < c.size()) {
    if (c.size() - pos < 4) return Status::error("RTCP header truncated");
    if ((c[pos] >> 6) != 2) return Status::error("RTCP version is not 2");
    size_t len = (size_t(be16(&c[pos + 2])) + 1) * 4;
    if (len > c.size() - pos) return Status::error("RTCP length runs past the compound packet");
    RtcpHeader h{static_cast<uint8_t>(c[pos] & 0x1f), c[pos + 1], c.subspan(pos, len)};
    if (!fn(h)) return Status::ok();
    pos += len;
  }
  return Status::ok();
}

Result<SenderReport> parseSenderReport(ByteSpan p) {
  if (p.size() < 28 || p[1] != kRtcpSr) return Status::error("not an RTCP sender report");
  SenderReport sr;
  sr.ssrc = be32(&p[4]);
  sr.ntp = uint64_t(be32(&p[8])) << 32 | be32(&p[12]);
  sr.rtpTimestamp = be32(&p[16]);
  sr.packetCount = be32(&p[20]);
  sr.octetCount = be32(&p[24]);
  if (Status s = readBlocks(p, 28, p[0] & 0x1f, sr.reports); !s) return s;
  return sr;
}

Result<ReceiverReport> parseReceiverReport(ByteSpan p) {
  if (p.size() < 8 || p[1] != kRtcpRr) return Status::error("not an RTCP receiver report");
  ReceiverReport rr;
  rr.ssrc = be32(&p[4]);
  if (Status s = readBlocks(p, 8, p[0] & 0x1f, rr.reports); !s) return s;
  return rr;
}

void writeSenderReport(BufferWriter& w, const SenderReport& sr) {
  size_t n = std::min<size_t>(sr.reports.size(), 31);
  writeHeader(w, static_cast<uint8_t>(n), kRtcpSr, 28 + n * kReportBlockSize);
  w.be32(sr.ssrc);
  w.be32(static_cast<uint32_t>(sr.ntp >> 32));
  w.be32(static_cast<uint32_t>(sr.ntp));
  w.be32(sr.rtpTimestamp);
  w.be32(sr.packetCount);
  w.be32(sr.octetCount);
  for (size_t i = 0; i < n; ++i) writeBlock(w, sr.reports[i]);
}

void writeReceiverReport(BufferWriter& w, const ReceiverReport& rr) {
  size_t n = std::min<size_t>(rr.reports.size(), 31);
  writeHeader(w, static_cast<uint8_t>(n), kRtcpRr, 8 + n * kReportBlockSize);
  w.be32(rr.ssrc);
  for (size_t i = 0; i < n; ++i) writeBlock(w, rr.reports[i]);
}

void writeSdesCname(BufferWriter& w, uint32_t ssrc, std::string_view cname) {
  if (cname.size() > 255) cname = cname.substr(0, 255);
  // SSRC, CNAME item (type 1, length, text), then a null item; padded to 32 bits (§6.5).
  size_t chunk = 4 + 2 + cname.size() + 1;
  size_t padded = (chunk + 3) / 4 * 4;
  writeHeader(w, 1, kRtcpSdes, 4 + padded);
  w.be32(ssrc);
  w.u8(1);
  w.u8(static_cast<uint8_t>(cname.size()));
  w.append(cname);
  for (size_t i = chunk - 1; i < padded; ++i) w.u8(0);
}

void writeBye(BufferWriter& w, uint32_t ssrc) {
  writeHeader(w, 1, kRtcpBye, 8);
  w.be32(ssrc);
}

uint64_t ntpFromUnixMicros(uint64_t micros) {
  constexpr uint64_t kUnixToNtpSeconds = 2208988800ull;  // 1900-01-01 to 1970-01-01
  uint64_t secs = micros / 1000000 + kUnixToNtpSeconds;
  uint64_t frac = ((micros % 1000000) << 32) / 1000000;
  return secs << 32 | frac;
}

}  // namespace xl::rtp
