// Arbitrary bytes as a compound RTCP packet: every SR and RR found is parsed.
#include <cstddef>
#include <cstdint>

#include "rtp/rtcp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xl::rtp;
  size_t seen = 0;
  (void)forEachRtcp({data, size}, [&](const RtcpHeader& h) {
    seen += h.packet.size();
    if (h.type == kRtcpSr) (void)parseSenderReport(h.packet);
    if (h.type == kRtcpRr) (void)parseReceiverReport(h.packet);
    return true;
  });
  if (seen > size) __builtin_trap();
  return 0;
}
