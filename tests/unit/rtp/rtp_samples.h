// Loads the RTP captures in tests/data/rtsp (2-byte length + packet, see its README.md).
#pragma once

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "rtp/depacketizer.h"
#include "rtp/rtp_packet.h"

namespace xl::test {

using Packet = std::vector<uint8_t>;

inline std::string readText(const std::string& name) {
  std::ifstream in(std::string(XL_RTSP_TEST_DATA) + "/" + name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::vector<Packet> readCapture(const std::string& name) {
  std::string d = readText(name);
  std::vector<Packet> out;
  size_t i = 0;
  while (i + 2 <= d.size()) {
    size_t n = uint8_t(d[i]) << 8 | uint8_t(d[i + 1]);
    if (i + 2 + n > d.size()) break;
    out.emplace_back(d.begin() + i + 2, d.begin() + i + 2 + n);
    i += 2 + n;
  }
  return out;
}

// Feeds packets through a depacketizer; returns the frames.
inline std::vector<rtp::DepacketizedFrame> depacketize(rtp::Depacketizer& d,
                                                       const std::vector<Packet>& packets) {
  std::vector<rtp::DepacketizedFrame> frames;
  for (auto& p : packets) {
    auto v = rtp::parseRtp(p);
    if (!v) continue;
    d.push(*v, [&](rtp::DepacketizedFrame&& f) { frames.push_back(std::move(f)); });
  }
  return frames;
}

}  // namespace xl::test
