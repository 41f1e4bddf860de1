// Reads a sample from tests/data/webrtc.
#pragma once

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace xl::webrtc::test {

inline std::string readSample(const std::string& name) {
  std::ifstream in(std::string(XL_WEBRTC_TEST_DATA) + "/" + name, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::vector<uint8_t> readBytes(const std::string& name) {
  std::string s = readSample(name);
  return std::vector<uint8_t>(s.begin(), s.end());
}

}  // namespace xl::webrtc::test
