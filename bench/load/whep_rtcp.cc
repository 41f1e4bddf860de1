#include "whep_rtcp.h"

#include <algorithm>
#include <cmath>

namespace xlload {
namespace {

void put16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, uint16_t(v >> 16));
  put16(p + 2, uint16_t(v));
}
// Common header (RFC 3550 §6.4.1): V=2, count/FMT, type, length in words minus one.
void header(uint8_t* p, uint8_t count, uint8_t type, size_t bytes) {
  p[0] = uint8_t(0x80 | (count & 0x1f));
  p[1] = type;
  put16(p + 2, uint16_t(bytes / 4 - 1));
}

constexpr uint16_t kMaxDropout = 3000;  // A.1: larger forward jumps are a restart

}  // namespace

void RtpReceiveStats::onRtp(uint16_t seq, uint32_t rtpTs, double arrivalMs, uint32_t clockRate) {
  if (!started_) {
    started_ = true;
    maxSeq_ = seq;
    baseSeq_ = seq;
  } else {
    const uint16_t delta = uint16_t(seq - maxSeq_);
    if (delta < kMaxDropout) {
      if (seq < maxSeq_) cycles_ += 1u << 16;  // wrapped
      maxSeq_ = seq;
    } else if (delta <= 65535 - 100) {
      // A.1's "very large jump": a sender that restarted its numbering (the server rewrites
      // sequence numbers per viewer, so this does not happen with it); start over.
      maxSeq_ = seq;
      baseSeq_ = seq;
      cycles_ = 0;
      received_ = expectedPrior_ = receivedPrior_ = 0;
    }  // else a duplicate or reordered packet: counted as received only
  }
  ++received_;
  // A.8: transit time in timestamp units; packets of one frame share a timestamp.
  if (clockRate == 0) return;
  const double transit = arrivalMs * clockRate / 1000.0 - double(rtpTs);
  if (haveTransit_) {
    const double d = std::fabs(transit - transit_);
    // A timestamp jump (a restart on the cached keyframe, a new GOP burst) is no network jitter.
    if (d < clockRate) jitter_ += (d - jitter_) / 16.0;
  }
  transit_ = transit;
  haveTransit_ = true;
}

void RtpReceiveStats::onSenderReport(uint64_t ntp, double arrivalMs) {
  lastSrMiddle_ = uint32_t(ntp >> 16);
  lastSrArrivalMs_ = arrivalMs;
}

int64_t RtpReceiveStats::cumulativeLost() const {
  const int64_t expected = int64_t(extendedMax()) - int64_t(baseSeq_) + 1;
  return expected - int64_t(received_);
}

void RtpReceiveStats::writeBlock(uint8_t* out, uint32_t ssrc, double nowMs) {
  const uint64_t expected = uint64_t(int64_t(extendedMax()) - int64_t(baseSeq_) + 1);
  const uint64_t expectedInterval = expected - expectedPrior_;
  const uint64_t receivedInterval = received_ - receivedPrior_;
  expectedPrior_ = expected;
  receivedPrior_ = received_;
  const int64_t lostInterval = int64_t(expectedInterval) - int64_t(receivedInterval);
  uint8_t fraction = 0;
  if (expectedInterval > 0 && lostInterval > 0)
    fraction = uint8_t(std::min<int64_t>(255, (lostInterval << 8) / int64_t(expectedInterval)));
  // §6.4.1: cumulative loss is a 24-bit signed count, clamped.
  int64_t lost = std::max<int64_t>(-0x800000, std::min<int64_t>(0x7fffff, cumulativeLost()));
  put32(out, ssrc);
  out[4] = fraction;
  const uint32_t l = uint32_t(lost) & 0xffffff;
  out[5] = uint8_t(l >> 16);
  out[6] = uint8_t(l >> 8);
  out[7] = uint8_t(l);
  put32(out + 8, extendedMax());
  put32(out + 12, uint32_t(jitter_));
  put32(out + 16, lastSrMiddle_);
  // DLSR: 1/65536 s since that sender report arrived, 0 without one.
  const double held = lastSrMiddle_ ? (nowMs - lastSrArrivalMs_) / 1000.0 * 65536.0 : 0;
  put32(out + 20, held > 0 ? uint32_t(held) : 0);
}

size_t writeReceiverReportHeader(uint8_t* out, uint32_t senderSsrc, int blocks) {
  const size_t len = 8 + 24 * size_t(blocks);
  header(out, uint8_t(blocks), 201, len);
  put32(out + 4, senderSsrc);
  return len;
}

size_t writePli(uint8_t* out, uint32_t senderSsrc, uint32_t mediaSsrc) {
  header(out, 1, 206, 12);
  put32(out + 4, senderSsrc);
  put32(out + 8, mediaSsrc);
  return 12;
}

size_t writeRemb(uint8_t* out, uint32_t senderSsrc, uint64_t bps, uint32_t mediaSsrc) {
  header(out, 15, 206, 24);
  put32(out + 4, senderSsrc);
  put32(out + 8, 0);  // media SSRC unused: the SSRCs are listed in the FCI
  out[12] = 'R';
  out[13] = 'E';
  out[14] = 'M';
  out[15] = 'B';
  out[16] = 1;
  // 6-bit exponent, 18-bit mantissa.
  unsigned exp = 0;
  while ((bps >> exp) > 0x3FFFF && exp < 63) ++exp;
  const uint32_t mantissa = uint32_t(bps >> exp);
  out[17] = uint8_t(exp << 2 | (mantissa >> 16 & 3));
  out[18] = uint8_t(mantissa >> 8);
  out[19] = uint8_t(mantissa);
  put32(out + 20, mediaSsrc);
  return 24;
}

size_t writeSdesCname(uint8_t* out, uint32_t ssrc, std::string_view cname) {
  const size_t text = std::min<size_t>(cname.size(), 255);
  // SSRC, CNAME type and length, the text, then at least one zero octet ending the item list.
  const size_t chunk = (4 + 2 + text + 1 + 3) / 4 * 4;
  const size_t len = 4 + chunk;
  header(out, 1, 202, len);
  put32(out + 4, ssrc);
  out[8] = 1;  // CNAME
  out[9] = uint8_t(text);
  std::copy_n(cname.data(), text, out + 10);
  std::fill(out + 10 + text, out + len, uint8_t(0));
  return len;
}

}  // namespace xlload
