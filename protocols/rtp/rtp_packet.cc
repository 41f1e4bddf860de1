#include "rtp/rtp_packet.h"

namespace xl::rtp {

Result<RtpPacket> parseRtp(ByteSpan p) {
  if (p.size() < kRtpHeaderSize) return Status::error("RTP packet shorter than 12 bytes");
  if ((p[0] >> 6) != 2) return Status::error("RTP version is not 2");
  RtpPacket r;
  const bool padding = p[0] & 0x20;
  r.hasExtension = p[0] & 0x10;
  r.csrcCount = p[0] & 0x0f;
  r.marker = p[1] & 0x80;
  r.payloadType = p[1] & 0x7f;
  r.seq = be16(&p[2]);
  r.timestamp = be32(&p[4]);
  r.ssrc = be32(&p[8]);
  size_t pos = kRtpHeaderSize + 4u * r.csrcCount;
  if (pos > p.size()) return Status::error("RTP CSRC list runs past the packet");
  if (r.hasExtension) {  // §5.3.1: 16-bit profile, 16-bit length in 32-bit words
    if (pos + 4 > p.size()) return Status::error("RTP extension header truncated");
    r.extensionProfile = be16(&p[pos]);
    size_t len = size_t(be16(&p[pos + 2])) * 4;
    pos += 4;
    if (pos + len > p.size()) return Status::error("RTP extension runs past the packet");
    r.extension = p.subspan(pos, len);
    pos += len;
  }
  size_t end = p.size();
  if (padding) {  // §5.1: the last octet counts the padding octets, itself included
    uint8_t pad = p[end - 1];
    if (pad == 0 || pad > end - pos) return Status::error("bad RTP padding length");
    end -= pad;
  }
  r.payload = p.subspan(pos, end - pos);
  return r;
}

void writeRtpHeader(uint8_t* out, bool marker, uint8_t payloadType, uint16_t seq,
                    uint32_t timestamp, uint32_t ssrc) {
  out[0] = 0x80;
  out[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | (payloadType & 0x7f));
  putBe16(out + 2, seq);
  putBe32(out + 4, timestamp);
  putBe32(out + 8, ssrc);
}

bool looksLikeRtcp(ByteSpan p) {
  return p.size() >= 2 && (p[0] >> 6) == 2 && p[1] >= 192 && p[1] <= 223;
}

}  // namespace xl::rtp
