// What a WHEP viewer of xl-load reads from the server's RTCP and RTP: arbitrary bytes as a
// compound RTCP packet (sender reports are walked within bounds), then as a run of RTP sequence
// numbers and timestamps feeding the reception statistics, whose report block must stay sane.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "whep_rtcp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xlload;
  RtpReceiveStats rx;
  forEachSenderReport(data, size, [&](uint32_t, uint64_t ntp) { rx.onSenderReport(ntp, 5); });
  double t = 10;
  for (size_t at = 0; at + 6 <= size; at += 6) {
    const uint16_t seq = uint16_t(data[at] << 8 | data[at + 1]);
    const uint32_t ts = rtcpBe32(data + at + 2);
    rx.onRtp(seq, ts, t, (data[at] & 1) ? 90000 : 48000);
    t += data[at + 5] / 4.0;
  }
  uint8_t block[24];
  rx.writeBlock(block, 1, t);
  if (rx.jitterUnits() < 0) std::abort();
  uint8_t pkt[32];
  if (writeRemb(pkt, 1, size * 1000003ull, 2) != 24 || writePli(pkt, 1, 2) != 12) std::abort();
  return 0;
}
