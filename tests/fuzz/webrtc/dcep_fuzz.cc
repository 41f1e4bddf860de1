// The data channel establishment protocol parser (RFC 8832): what a browser sends with PPID 50.
// A message that parses must serialize back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "webrtc/data_channel.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xl::webrtc;
  std::span<const uint8_t> in(data, size);
  (void)dcep::isAck(in);
  auto open = dcep::parseOpen(in);
  if (open) {
    auto again = dcep::serializeOpen(*open);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) abort();
  }
  return 0;
}
